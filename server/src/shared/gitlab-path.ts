/**
 * GitLab's own rules for namespace and project paths (lib/gitlab/path_regex.rb:
 * FULL_NAMESPACE_FORMAT_REGEX, PROJECT_PATH_FORMAT_REGEX; docs "Reserved project and group names"):
 * each segment starts with a letter, digit, `_` or `.`, continues with letters, digits, `_`, `-`,
 * `.`, ends with a letter, digit, `_` or `-`, does not end in `.git` or `.atom`, and is at most 255
 * characters; a full path has at most 21 segments (20 ancestors). So `..`, `.` and `/` tricks never
 * pass, and a path is refused here before it reaches GitLab or a file name.
 */
const SEGMENT = /^(?:[a-zA-Z0-9_.][a-zA-Z0-9_\-.]*[a-zA-Z0-9_-]|[a-zA-Z0-9_])$/;
const PROJECT_SEGMENT = /^[a-zA-Z0-9_.][a-zA-Z0-9_\-.]*$/;
const NO_SUFFIX = /(?:\.git|\.atom)$/;
const MAX_SEGMENT = 255;
const MAX_SEGMENTS = 21;

/** What is wrong with a full namespace path (`group/subgroup` or a username), or null. */
export function namespacePathProblem(path: string): string | null {
  const segments = path.split('/');
  if (segments.length > MAX_SEGMENTS) return `may have at most ${MAX_SEGMENTS} segments`;
  for (const segment of segments) {
    if (segment.length === 0) return 'must not have empty segments (leading, trailing or double "/")';
    if (segment.length > MAX_SEGMENT || !SEGMENT.test(segment) || NO_SUFFIX.test(segment)) {
      return `"${segment.slice(0, 60)}" is not a GitLab path: letters, digits, "_", "-" and "." only, starting with a letter, digit, "_" or "." and ending with a letter, digit, "_" or "-", not ending in .git or .atom`;
    }
  }
  return null;
}

/** What is wrong with a project path (one segment), or null. */
export function projectPathProblem(path: string): string | null {
  if (
    path.length === 0 ||
    path.length > MAX_SEGMENT ||
    !PROJECT_SEGMENT.test(path) ||
    NO_SUFFIX.test(path) ||
    /^\.+$/.test(path)
  ) {
    return 'is not a GitLab project path: letters, digits, "_", "-" and "." only, starting with a letter, digit, "_" or ".", not ending in .git or .atom';
  }
  return null;
}
