import { create } from 'zustand'
import * as auth from '../api/auth.ts'
import { data } from '../api/client.ts'
import { sessionRetrieve } from '../api/generated/sdk.gen.ts'
import { useNotes } from './notes.ts'

type SessionState = {
  user: auth.User | null
  status: 'idle' | 'loading' | 'ready'
  /** Asks the API who is signed in; when it cannot tell, nobody is. */
  load: () => Promise<void>
  signedIn: (user: auth.User) => void
  signOut: () => Promise<auth.Outcome>
}

export const useSession = create<SessionState>()((set) => ({
  user: null,
  status: 'idle',

  load: async () => {
    set({ status: 'loading' })
    try {
      const { user } = await data(sessionRetrieve())
      set({ user, status: 'ready' })
    } catch {
      set({ user: null, status: 'ready' })
    }
  },

  signedIn: (user) => set({ user, status: 'ready' }),

  signOut: async () => {
    const outcome = await auth.signOut()
    if (outcome.kind === 'signed-out') {
      set({ user: null, status: 'ready' })
      useNotes.setState(useNotes.getInitialState())
    }
    return outcome
  },
}))
