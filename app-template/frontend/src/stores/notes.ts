import { create } from 'zustand'
import { data } from '../api/client.ts'
import { notesCreate, notesList } from '../api/generated/sdk.gen.ts'
import type { Note, NoteWritable } from '../api/generated/types.gen.ts'

export type { Note }
export type NoteDraft = NoteWritable

type NotesState = {
  notes: Note[]
  page: number
  count: number
  hasNext: boolean
  hasPrevious: boolean
  status: 'idle' | 'loading' | 'ready' | 'error'
  error: string | null
  load: (page?: number) => Promise<void>
  add: (draft: NoteDraft) => Promise<boolean>
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

// Which load answers: only the latest asked for. A list asked for before a note was added may
// not hold that note, and one of an earlier page must not replace a later one.
let latestLoad = 0

export const useNotes = create<NotesState>()((set, get) => ({
  notes: [],
  page: 1,
  count: 0,
  hasNext: false,
  hasPrevious: false,
  status: 'idle',
  error: null,

  load: async (page = 1) => {
    const ticket = ++latestLoad
    set({ page, status: 'loading', error: null })
    try {
      const list = await data(notesList({ query: page > 1 ? { page } : {} }))
      if (ticket !== latestLoad) return
      set({
        notes: list.results,
        count: list.count,
        hasNext: Boolean(list.next),
        hasPrevious: Boolean(list.previous),
        status: 'ready',
      })
    } catch (error) {
      if (ticket === latestLoad) set({ status: 'error', error: message(error) })
    }
  },

  add: async (draft) => {
    try {
      const note = await data(notesCreate({ body: draft }))
      if (get().status === 'loading') {
        // The list on its way may have been read before this note was saved: ask again.
        set({ error: null })
        void get().load(get().page)
      } else {
        set((state) => ({ notes: [note, ...state.notes], count: state.count + 1, error: null }))
      }
      return true
    } catch (error) {
      set({ error: message(error) })
      return false
    }
  },
}))
