/**
 * Kubernetes naming rules that Calico's validator applies to every resource (validator.go
 * validateObjectMeta/Labels/Annotations, k8s.io/apimachinery/pkg/util/validation): resource names are
 * DNS-1123 subdomains of at most 253 characters; label and annotation keys are qualified names
 * (`[prefix/]name`, name at most 63 characters); label values at most 63 characters of [A-Za-z0-9-_.],
 * starting and ending alphanumeric; annotations total at most 256 KiB. Each check returns the rule
 * broken, or undefined. Pure.
 */

const DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN = new RegExp(`^${DNS1123_LABEL}(\\.${DNS1123_LABEL})*$`);
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

export const MAX_NAME_LENGTH = 253;
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;

export function checkResourceName(name: string): string | undefined {
  if (name.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters`;
  if (!DNS1123_SUBDOMAIN.test(name)) {
    return "must consist of lower case alphanumeric characters, '-' or '.', and start and end with an alphanumeric character";
  }
  return undefined;
}

export function checkQualifiedName(key: string): string | undefined {
  const parts = key.split("/");
  if (parts.length > 2)
    return "must be a qualified name: an optional DNS subdomain prefix and '/', then a name";
  const name = parts.at(-1)!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix === "") return "prefix before '/' must not be empty";
    const bad = checkResourceName(prefix);
    if (bad !== undefined) return `prefix ${bad}`;
  }
  if (name === "") return "name part must not be empty";
  if (name.length > 63) return "name part must be at most 63 characters";
  if (!QUALIFIED_NAME.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character";
  }
  return undefined;
}

export function checkLabelValue(value: string): string | undefined {
  if (value === "") return undefined;
  if (value.length > 63) return "must be at most 63 characters";
  if (!QUALIFIED_NAME.test(value)) {
    return "must be empty or consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character";
  }
  return undefined;
}
