/**
 * What every fieldset of the policy form receives: the draft, a way to change it, and the
 * field-level problems from the last save (by input path without `input.`). A new section (a
 * restore drill, say) is one more component with these props, added to PolicyPage's list.
 */
import type { PolicyDraft } from './policy-draft';

export type UpdateDraft = (recipe: (draft: PolicyDraft) => void) => void;

export interface SectionProps {
  draft: PolicyDraft;
  update: UpdateDraft;
  fields: Record<string, string>;
}
