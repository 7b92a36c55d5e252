/** One field-level problem in an input: where it is (`events.0.value`) and what was expected. */
export interface FieldError {
  path: string;
  message: string;
}
