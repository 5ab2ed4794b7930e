import { useState, type FormEvent } from 'react'
import { useNotes } from '../stores/notes.ts'

export default function NoteForm() {
  const add = useNotes((state) => state.add)
  const [title, setTitle] = useState('')
  const [body, setBody] = useState('')
  const [saving, setSaving] = useState(false)

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    setSaving(true)
    if (await add({ title, body })) {
      setTitle('')
      setBody('')
    }
    setSaving(false)
  }

  return (
    <form onSubmit={submit}>
      <label>
        Title
        <input value={title} onChange={(e) => setTitle(e.target.value)} required />
      </label>
      <label>
        Body
        <textarea value={body} onChange={(e) => setBody(e.target.value)} rows={3} />
      </label>
      <button type="submit" disabled={saving}>
        Add note
      </button>
    </form>
  )
}
