import { useEffect } from 'react'
import { useSearchParams } from 'react-router'
import NoteForm from '../components/NoteForm.tsx'
import NoteList from '../components/NoteList.tsx'
import { useNotes } from '../stores/notes.ts'

export default function Notes() {
  const [params, setParams] = useSearchParams()
  const page = Math.max(1, Math.trunc(Number(params.get('page'))) || 1)
  const notes = useNotes((state) => state.notes)
  const status = useNotes((state) => state.status)
  const error = useNotes((state) => state.error)
  const hasNext = useNotes((state) => state.hasNext)
  const hasPrevious = useNotes((state) => state.hasPrevious)
  const load = useNotes((state) => state.load)

  useEffect(() => {
    load(page)
  }, [load, page])

  const go = (to: number) => setParams(to > 1 ? { page: String(to) } : {})

  return (
    <>
      <h1>Your notes</h1>
      <NoteForm />
      {error && <p role="alert">{error}</p>}
      {status === 'loading' && <p>Loading…</p>}
      {status === 'ready' && <NoteList notes={notes} />}
      {(hasPrevious || hasNext) && (
        <nav aria-label="Pages" className="pages">
          <button type="button" disabled={!hasPrevious} onClick={() => go(page - 1)}>
            Previous
          </button>
          <span>Page {page}</span>
          <button type="button" disabled={!hasNext} onClick={() => go(page + 1)}>
            Next
          </button>
        </nav>
      )}
    </>
  )
}
