/**
 * Walks GitLab's browser side of the authorization-code flow over plain HTTP, as a user would:
 * open the authorize URL, get sent to sign in, sign in, get the consent page, press Authorize (or
 * Deny), and return the redirect GitLab answers with (redirect_uri?code=…&state=…). Each call is
 * a fresh browser: no session cookie carries over.
 */
export async function authorizeAsUser(
  authorizeUrl: string,
  user: { login: string; password: string },
  decision: 'authorize' | 'deny' = 'authorize',
): Promise<URL> {
  const origin = new URL(authorizeUrl).origin;
  let cookie = '';
  const go = async (url: string, init: RequestInit = {}) => {
    const response = await fetch(new URL(url, origin), {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
    });
    const setCookie = response.headers.get('set-cookie');
    if (setCookie) cookie = setCookie.split(';')[0];
    return response;
  };
  const postForm = (url: string, fields: Record<string, string>) =>
    go(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });

  const first = await go(authorizeUrl);
  expectStatus(first, 302, 'the authorize page should send an anonymous visitor to sign in');
  const signInPage = await go(first.headers.get('location')!);
  const signInForm = formFields(await signInPage.text(), 'new_user');
  const signedIn = await postForm('/users/sign_in', {
    ...signInForm,
    'user[login]': user.login,
    'user[password]': user.password,
  });
  expectStatus(signedIn, 302, 'signing in should redirect back to the authorize page');
  const consent = await go(signedIn.headers.get('location')!);
  expectStatus(consent, 200, 'the consent page');
  const html = await consent.text();
  // GitLab skips consent for a confidential app that already holds a token with these scopes and
  // renders a "Redirecting" page instead.
  const redirect = /<a[^>]*id="redirect-link"[^>]*href="([^"]*)"/.exec(html);
  if (redirect && decision === 'authorize') return new URL(unescapeHtml(redirect[1]));
  const formId = decision === 'authorize' ? 'authorize-form' : 'deny-form';
  const decided = await postForm('/oauth/authorize', formFields(html, formId));
  expectStatus(decided, 302, `pressing ${decision} should redirect to the application`);
  return new URL(decided.headers.get('location')!);
}

function expectStatus(response: Response, status: number, what: string): void {
  if (response.status !== status) throw new Error(`${what}: expected ${status}, got ${response.status}`);
}

/** The name/value pairs of the inputs of the form with the given id. */
function formFields(html: string, formId: string): Record<string, string> {
  const form = new RegExp(`<form[^>]*id="${formId}"[^>]*>([\\s\\S]*?)</form>`).exec(html);
  if (!form) throw new Error(`no form #${formId} on the page`);
  const fields: Record<string, string> = {};
  for (const [input] of form[1].matchAll(/<input[^>]*>/g)) {
    const name = /\bname="([^"]*)"/.exec(input)?.[1];
    const value = /\bvalue="([^"]*)"/.exec(input)?.[1] ?? '';
    if (name) fields[unescapeHtml(name)] = unescapeHtml(value);
  }
  return fields;
}

function unescapeHtml(text: string): string {
  return text.replace(
    /&(amp|lt|gt|quot|#39);/g,
    (_, entity: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[entity]!,
  );
}
