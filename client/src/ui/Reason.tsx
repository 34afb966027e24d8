/**
 * A reason from the server (a run's or a repository's error message) in plain words, with what a
 * tool said verbatim one click away. git's stderr and API request lines are for someone debugging:
 * they go inside a <details> disclosure, and the sentence a person reads names no URL.
 */
import type { ReactNode } from 'react';

/** What a failed git command means to someone restoring or backing up. */
const GIT_COMMAND: Record<string, string> = {
  push: 'GitLab did not accept what was pushed to it',
  fetch: 'the repository could not be read from GitLab',
  clone: 'the repository could not be read from GitLab',
  'ls-remote': 'the repository’s refs could not be listed on GitLab',
};

const URL_WITH_PATH = /\bhttps?:\/\/[^\s/]+\/[^\s)'"]*/i;
const REQUEST_LINE = /\s*\((?:GET|POST|PUT|DELETE|PATCH|HEAD) [^)]*\)/;
const all = (pattern: RegExp) => new RegExp(pattern.source, `${pattern.flags}g`);

/**
 * Splits a server message into a sentence a person can read and the technical detail it came
 * with (null when there is none): "acme/api: git push failed: fatal: …" becomes "acme/api: GitLab
 * did not accept what was pushed to it." plus git's words; a request line "(GET http://…)" is
 * dropped from the sentence and a URL is cut to its instance.
 */
export function splitReason(message: string): { plain: string; detail: string | null } {
  const git = /^(.*?)git (push|fetch|clone|ls-remote) failed: ?(.*)$/s.exec(message);
  if (git) {
    const [, prefix, command, said] = git;
    return { plain: `${prefix}${GIT_COMMAND[command]}.`, detail: said.split(' | ').join('\n') || null };
  }
  if (!REQUEST_LINE.test(message) && !URL_WITH_PATH.test(message)) return { plain: message, detail: null };
  const plain = message.replace(all(REQUEST_LINE), '').replace(all(URL_WITH_PATH), (url) => {
    try {
      return new URL(url).origin;
    } catch {
      return 'the instance';
    }
  });
  return { plain, detail: message };
}

/** The plain sentence, then "What git/GitLab said" folded away when there is more to see. */
export function Reason({ message, prefix }: { message: string; prefix?: ReactNode }) {
  const { plain, detail } = splitReason(message);
  return (
    <>
      {prefix}
      {plain}
      {detail ? (
        <details className="reason-detail">
          <summary>Technical details</summary>
          <pre>{detail}</pre>
        </details>
      ) : null}
    </>
  );
}
