/** A required field of an account form. */
export type FieldSpec = { label: string; name: string; type: 'email' | 'password'; autoComplete: string }

export const EMAIL: FieldSpec = { label: 'Email', name: 'email', type: 'email', autoComplete: 'email' }

export function password(
  label: string,
  name: string,
  autoComplete: 'current-password' | 'new-password',
): FieldSpec {
  return { label, name, type: 'password', autoComplete }
}
