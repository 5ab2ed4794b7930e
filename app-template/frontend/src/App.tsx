import { Route, Routes } from 'react-router'
import Layout from './components/Layout.tsx'
import RequireUser from './components/RequireUser.tsx'
import Home from './pages/Home.tsx'
import NotFound from './pages/NotFound.tsx'
import Notes from './pages/Notes.tsx'
import PasswordChange from './pages/account/PasswordChange.tsx'
import PasswordReset from './pages/account/PasswordReset.tsx'
import PasswordResetFromKey from './pages/account/PasswordResetFromKey.tsx'
import SignIn from './pages/account/SignIn.tsx'
import SignUp from './pages/account/SignUp.tsx'
import VerifyEmail from './pages/account/VerifyEmail.tsx'

export default function App() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<Home />} />
        <Route path="account/signin" element={<SignIn />} />
        <Route path="account/signup" element={<SignUp />} />
        <Route path="account/verify-email/:key" element={<VerifyEmail />} />
        <Route path="account/password/reset" element={<PasswordReset />} />
        <Route path="account/password/reset/key/:key" element={<PasswordResetFromKey />} />
        <Route element={<RequireUser />}>
          <Route path="notes" element={<Notes />} />
          <Route path="account/password/change" element={<PasswordChange />} />
        </Route>
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  )
}
