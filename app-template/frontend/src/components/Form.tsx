import { useId, type InputHTMLAttributes, type ReactNode } from 'react'
import type { FormError } from '../api/auth.ts'
import type { FieldSpec } from './fields.ts'
import type { useSubmit } from './useSubmit.ts'

type FieldProps = {
  label: string
  name: string
  errors: FormError[]
} & InputHTMLAttributes<HTMLInputElement>

/** A labelled input with the API's errors about it under it, read out when they change. */
function Field({ label, name, errors, ...input }: FieldProps) {
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

type FormProps = {
  form: ReturnType<typeof useSubmit>
  fields: FieldSpec[]
  submit: string
  /** The errors to show, when they are not just the form's own. */
  errors?: FormError[]
  /** What goes before the fields (hidden inputs). */
  children?: ReactNode
}

/** A form of required fields, the errors about it and its button, disabled while it runs. */
export function Form({ form, fields, submit, errors = form.errors, children }: FormProps) {
  return (
    <form onSubmit={form.onSubmit}>
      <FormErrors errors={errors} fields={fields.map((field) => field.name)} />
      {children}
      {fields.map((field) => (
        <Field key={field.name} {...field} required errors={errors} />
      ))}
      <button type="submit" disabled={form.busy}>
        {submit}
      </button>
    </form>
  )
}
