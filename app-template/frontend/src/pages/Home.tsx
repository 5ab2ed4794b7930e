import { useEffect } from 'react'
import NoteForm from '../components/NoteForm.tsx'
import NoteList from '../components/NoteList.tsx'
import { useNotes } from '../stores/notes.ts'

export default function Home() {
  const notes = useNotes((state) => state.notes)
  const status = useNotes((state) => state.status)
  const error = useNotes((state) => state.error)
  const load = useNotes((state) => state.load)

  useEffect(() => {
    load()
  }, [load])

  return (
    <>
      <h1>Notes</h1>
      <NoteForm />
      {error && <p role="alert">{error}</p>}
      {status === 'loading' && <p>Loading…</p>}
      {status === 'ready' && <NoteList notes={notes} />}
    </>
  )
}
