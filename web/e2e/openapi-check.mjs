// Checks the client's types (src/api/types.ts) against the OpenAPI document
// the server serves: every property the client declares must exist in the
// schema, and every property the schema requires must be declared.

import { readFileSync } from "node:fs";
import ts from "typescript";

/** Client interface -> OpenAPI schema. */
export const SCHEMAS = {
  UserView: "UserView",
  TenantView: "TenantView",
  Me: "MeResponse",
  TokenResponse: "TokenResponse",
  MagicLinkSent: "MagicLinkSent",
  Template: "TemplateView",
  Voice: "VoiceView",
  CreateProject: "CreateProject",
  Created: "Created",
  Progress: "Progress",
  Scene: "SceneView",
  Project: "ProjectView",
  ProjectSummary: "ProjectSummary",
  ProjectPage: "ProjectPage",
  MetricUsage: "MetricUsage",
  Usage: "UsageResponse",
  DayAmount: "DayAmount",
  UsageHistory: "HistoryResponse",
  Subscription: "SubscriptionView",
  CheckoutResponse: "CheckoutResponse",
  PortalResponse: "PortalResponse",
  ApiKeyResponse: "ApiKeyResponse",
  AuditEntry: "AuditEntry",
  AuditPage: "AuditPage",
  ExportView: "ExportView",
  BackupStatus: "BackupStatus",
};

export function clientInterfaces(file) {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
  const out = {};
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node)) {
      out[node.name.text] = node.members
        .filter((m) => ts.isPropertySignature(m))
        .map((m) => ({ name: m.name.getText(source), optional: !!m.questionToken }));
    }
  });
  return out;
}

export function compare(document, interfaces) {
  const problems = [];
  const schemas = document.components?.schemas ?? {};
  for (const [client, schemaName] of Object.entries(SCHEMAS)) {
    const schema = schemas[schemaName];
    const props = interfaces[client];
    if (!props) {
      problems.push(`types.ts has no interface ${client}`);
      continue;
    }
    if (!schema) {
      problems.push(`the OpenAPI document has no schema ${schemaName} (for ${client})`);
      continue;
    }
    const served = new Set(Object.keys(schema.properties ?? {}));
    for (const p of props) {
      if (!served.has(p.name)) problems.push(`${client}.${p.name} is not in ${schemaName}`);
    }
    const declared = new Set(props.map((p) => p.name));
    for (const required of schema.required ?? []) {
      if (!declared.has(required)) problems.push(`${schemaName}.${required} (required) is missing from ${client}`);
    }
  }
  return problems;
}
