import { create } from 'zustand'
import { api } from '../api/client.ts'

export type Note = {
  id: number
  title: string
  body: string
  created_at: string
}

export type NoteDraft = Pick<Note, 'title' | 'body'>

type NotesState = {
  notes: Note[]
  status: 'idle' | 'loading' | 'ready' | 'error'
  error: string | null
  load: () => Promise<void>
  add: (draft: NoteDraft) => Promise<boolean>
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

export const useNotes = create<NotesState>()((set) => ({
  notes: [],
  status: 'idle',
  error: null,

  load: async () => {
    set({ status: 'loading', error: null })
    try {
      // A plain list, or a page when DRF pagination is on.
      const data = await api.get<Note[] | { results: Note[] }>('/api/notes/')
      set({ notes: Array.isArray(data) ? data : data.results, status: 'ready' })
    } catch (error) {
      set({ status: 'error', error: message(error) })
    }
  },

  add: async (draft) => {
    try {
      const note = await api.post<Note>('/api/notes/', draft)
      set((state) => ({ notes: [note, ...state.notes], error: null }))
      return true
    } catch (error) {
      set({ error: message(error) })
      return false
    }
  },
}))
