/**
 * Docker's image reference grammar, as distribution/reference defines it (regexp.go, the grammar
 * the engine parses `docker pull` and a container's image with):
 *
 *   reference        := name [ ":" tag ] [ "@" digest ]
 *   name             := [domain "/"] path-component ["/" path-component]*
 *   domain           := host [":" port-number]
 *   host             := domain-name | "[" IPv6address "]"
 *   domain-name      := domain-component ["." domain-component]*
 *   domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
 *   path-component   := alpha-numeric [separator alpha-numeric]*
 *   alpha-numeric    := /[a-z0-9]+/
 *   separator        := /[_.]|__|[-]+/
 *   tag              := /[\w][\w.-]{0,127}/
 *   digest           := algorithm ":" hex (32 or more hex digits)
 *
 * plus its other rules: the name is at most 255 characters, and 64 hex digits alone are an image
 * ID, not a reference.
 */

const alphanumeric = "[a-z0-9]+";
const separator = "(?:[._]|__|[-]+)";
const domainNameComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const optionalPort = "(?::[0-9]+)?";
const tag = "[\\w][\\w.-]{0,127}";
const digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}";
const ipv6address = "\\[(?:[a-fA-F0-9:]+)\\]";
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = `${host}${optionalPort}`;
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;

const REFERENCE = new RegExp(`^(${namePat})(?::(${tag}))?(?:@(${digest}))?$`);
const IMAGE_ID = /^[a-f0-9]{64}$/;

/** distribution/reference's NameTotalLengthMax. */
export const NAME_MAX = 255;
/** Longer than any valid reference can be (name, tag and a sha512 digest): refused before the regexp runs. */
const REFERENCE_MAX = NAME_MAX + 1 + 128 + 1 + 7 + 1 + 128;

/** Why `ref` is not an image reference Docker accepts, or undefined when it is one. */
export function imageReferenceProblem(ref: string): string | undefined {
  if (ref === "") return "must not be empty";
  if (ref.length > REFERENCE_MAX) return `is ${ref.length} characters long; an image reference is at most ${REFERENCE_MAX}`;
  if (IMAGE_ID.test(ref)) return "is an image ID (64 hex digits), not a reference such as redis:7";
  const match = REFERENCE.exec(ref);
  if (!match) {
    // The engine's own wording for the commonest mistake: upper case in the repository path.
    if (REFERENCE.test(ref.toLowerCase())) return `"${ref}" is not a valid image reference: the repository name must be lower-case`;
    return `"${ref}" is not a valid image reference (Docker's grammar: [host[:port]/]name[:tag][@digest], e.g. redis:7 or localhost:5050/team/app:1.0)`;
  }
  const name = match[1] ?? "";
  if (name.length > NAME_MAX) return `its repository name is ${name.length} characters long; Docker allows at most ${NAME_MAX}`;
  return undefined;
}
