// The roles of a team (SPEC 4.9), for showing only what a person may use.
// The server decides (a 403 `role-required`); the app hides what would be refused.

import type { Role } from "../api/types";

const RANK: Record<Role, number> = { member: 0, admin: 1, owner: 2 };

export const ROLE_NAMES: Record<Role, string> = { owner: "Owner", admin: "Admin", member: "Member" };

/** Whether `role` may do what `needed` may; false while the role is not known. */
export function atLeast(role: Role | null | undefined, needed: Role): boolean {
  return !!role && RANK[role] >= RANK[needed];
}

/** A role's name for a sentence ("an admin"). */
export function roleName(role: Role): string {
  return role === "admin" ? "an admin" : role === "owner" ? "the owner" : "a member";
}
