import { useId, type InputHTMLAttributes } from 'react'
import type { FormError } from '../api/auth.ts'

type FieldProps = {
  label: string
  name: string
  errors: FormError[]
} & InputHTMLAttributes<HTMLInputElement>

/** A labelled input with the API's errors about it under it, read out when they change. */
export function Field({ label, name, errors, ...input }: FieldProps) {
  const id = useId()
  const messages = errors.filter((error) => error.param === name).map((error) => error.message)
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        name={name}
        aria-invalid={messages.length > 0}
        aria-describedby={`${id}-errors`}
        {...input}
      />
      <span id={`${id}-errors`} className="error" aria-live="polite">
        {messages.join(' ')}
      </span>
    </div>
  )
}

/** The errors about no field of the form (`fields` names those it has), read out. */
export function FormErrors({ errors, fields = [] }: { errors: FormError[]; fields?: string[] }) {
  const general = errors.filter((error) => !error.param || !fields.includes(error.param))
  return (
    <div className="error" aria-live="polite">
      {general.map((error, index) => (
        <p key={index}>{error.message}</p>
      ))}
    </div>
  )
}
