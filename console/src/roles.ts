import type { components } from "./api/schema";

type Me = components["schemas"]["Me"];

// CONTRACT §5: blueprints, users and API tokens are changed by org admins only.
export function canAdminister(me: Me): boolean {
  return me.auth.role === "org_admin";
}

// batch/submit and batch/cancel: admins of the org, or of their own company; never a member.
export function canRunBatches(me: Me): boolean {
  return me.auth.role === "org_admin" || me.auth.role === "company_admin";
}
