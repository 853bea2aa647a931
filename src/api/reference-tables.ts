/**
 * The field tables of docs/resources.md, rendered from the same schemas tabby decodes with, so the
 * reference cannot say one thing while the code does another: every field with its type, default and
 * field-level checks. Cross-field rules are prose in the document itself. `updateReferenceDoc` replaces
 * the `<!-- fields:Kind -->` blocks of the document; crds/generate.ts runs it and a test checks it. Pure.
 */
import type { FormatName } from "./formats.js";
import type { KindDef } from "./kind.js";
import { KINDS } from "./registry.js";
import type { Schema } from "./schema.js";

const FORMAT_WORDS: Record<FormatName, string> = {
  cidr: "CIDR or address",
  cidrv4: "IPv4 CIDR or address",
  cidrv6: "IPv6 CIDR or address",
  net: "network (host bits zero) or address",
  netv4: "IPv4 network (host bits zero)",
  netv6: "IPv6 network (host bits zero)",
  ip: "IP address",
  ipv4: "IPv4 address",
  ipv6: "IPv6 address",
  ipPort: "`IP`, `IPv4:port` or `[IPv6]:port`",
  selector: "selector",
  mac: "MAC address",
  name: "DNS-1123 name",
  interface: "interface name (1..15 of `[a-zA-Z0-9_.-]`)",
  bgpFilterInterface: "interface name or glob (1..15 of `[a-zA-Z0-9_.*-]`)",
  ignoredInterface: 'interface name or glob, not `"*"`',
  containerID: "container ID",
  portName: "port name (IANA service name)",
  community: "community `aa:nn` (16-bit) or `aa:nn:mm` (32-bit)",
  dateTime: "RFC 3339 time",
};

function typeText(s: Schema): string {
  switch (s.type) {
    case "asNumber":
      return "AS number";
    case "array":
      return `list of ${typeText(s.items)}`;
    case "map":
      return `map of ${typeText(s.values)}`;
    default:
      return s.type;
  }
}

function checksText(s: Schema, required: boolean): string {
  const out: string[] = [];
  if (required) out.push("required");
  switch (s.type) {
    case "string":
      if (s.check !== undefined) out.push(FORMAT_WORDS[s.check]);
      if (s.enum !== undefined) out.push(s.enum.map((e) => (e === "" ? '""' : e)).join(" | "));
      if (s.pattern !== undefined) out.push(s.pattern.rule);
      if (s.maxLength !== undefined) out.push(`at most ${s.maxLength} characters`);
      break;
    case "integer":
      if (s.minimum !== undefined || s.maximum !== undefined)
        out.push(`${s.minimum ?? ""}..${s.maximum ?? ""}`);
      break;
    case "asNumber":
      out.push('0..4294967295 or asdot `"X.Y"`');
      break;
    case "duration":
      out.push("Go duration (`120s`, `2m`), stored in Go's form");
      break;
    case "array":
      if (s.minItems !== undefined) out.push(`at least ${s.minItems}`);
      if (s.maxItems !== undefined) out.push(`at most ${s.maxItems}`);
      if (s.listType === "set") out.push("no duplicates");
      if (s.items.type !== "object" && s.items.type !== "array") {
        const inner = checksText(s.items, false);
        if (inner !== "") out.push(`each: ${inner}`);
      }
      break;
    case "object":
      if (s.minProperties === 1 && s.maxProperties === 1) out.push("exactly one field");
      break;
    default:
      break;
  }
  return out.join("; ");
}

function defaultText(s: Schema): string {
  if ("default" in s && s.default !== undefined)
    return `\`${JSON.stringify(s.default).replaceAll('"', "")}\``;
  return s.defaultDoc !== undefined ? `\`${s.defaultDoc}\`` : "";
}

function rows(schema: Schema, path: string, required: boolean, out: string[][]): void {
  out.push([
    `\`${path}\``,
    typeText(schema),
    defaultText(schema),
    checksText(schema, required),
    schema.description ?? "",
  ]);
  const obj =
    schema.type === "object"
      ? schema
      : schema.type === "array" && schema.items.type === "object"
        ? schema.items
        : undefined;
  if (obj === undefined) return;
  const prefix = schema.type === "array" ? `${path}[]` : path;
  for (const [k, v] of Object.entries(obj.properties))
    rows(v, `${prefix}.${k}`, obj.required?.includes(k) ?? false, out);
}

export function renderFieldTable(def: KindDef): string {
  const out: string[][] = [];
  const spec = def.spec;
  for (const [k, v] of Object.entries(spec.properties)) rows(v, k, spec.required?.includes(k) ?? false, out);
  const cellText = (c: string) => c.replaceAll("|", "\\|").replaceAll("\n", " ");
  const lines = [
    "| field (`spec.`) | type | default | checks | meaning |",
    "|---|---|---|---|---|",
    ...out.map((r) => `| ${r.map(cellText).join(" | ")} |`),
  ];
  return lines.join("\n");
}

/** Replaces every `<!-- fields:Kind -->...<!-- /fields -->` block with the current table. */
export function updateReferenceDoc(text: string): string {
  return text.replace(/<!-- fields:(\w+) -->[\s\S]*?<!-- \/fields -->/g, (_m, kind: string) => {
    const def = KINDS.find((k) => k.kind === kind);
    if (def === undefined) throw new Error(`docs/resources.md names an unknown kind ${kind}`);
    return `<!-- fields:${kind} -->\n${renderFieldTable(def)}\n<!-- /fields -->`;
  });
}
