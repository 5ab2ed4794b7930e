import type { Note } from '../stores/notes.ts'

export default function NoteList({ notes }: { notes: Note[] }) {
  if (notes.length === 0) {
    return <p>No notes yet.</p>
  }
  return (
    <ul className="notes">
      {notes.map((note) => (
        <li key={note.id}>
          <h2>{note.title}</h2>
          {note.body && <p>{note.body}</p>}
          <time dateTime={note.created_at}>{new Date(note.created_at).toLocaleString()}</time>
        </li>
      ))}
    </ul>
  )
}
