/**
 * The OAuth pop-up. Browsers allow a pop-up only while handling the user's click, so it is opened
 * synchronously (blank) before the API is asked for the authorization URL, then pointed at it. The
 * result reaches the main window through the `connectionStatusChanged` subscription, not from the
 * pop-up itself.
 */
const WIDTH = 640;
const HEIGHT = 760;

/** The authorization pop-up this window opened last (to bring back or close). */
let current: Window | null = null;

function openPopup(url: string): Window | null {
  const left = Math.max(0, window.screenX + (window.outerWidth - WIDTH) / 2);
  const top = Math.max(0, window.screenY + (window.outerHeight - HEIGHT) / 2);
  const popup = window.open(
    url,
    'labkeeper-gitlab-authorization',
    `popup,width=${WIDTH},height=${HEIGHT},left=${left},top=${top}`,
  );
  current = popup && !popup.closed ? popup : null;
  return current;
}

/** Opens the authorization page again (the user closed the pop-up, or lost it behind this window). */
export function reopenAuthorizationPopup(url: string): boolean {
  if (current && !current.closed) {
    current.focus();
    return true;
  }
  try {
    return openPopup(url) !== null;
  } catch {
    return false;
  }
}

/** Closes the authorization pop-up, if it is still open (Cancel). */
export function closeAuthorizationPopup(): void {
  if (current && !current.closed) current.close();
  current = null;
}

export function openBlankPopup(): Window | null {
  try {
    const popup = openPopup('');
    if (!popup) return null;
    popup.document.title = 'Connecting to GitLab…';
    popup.document.body.textContent = 'Opening GitLab…';
    return popup;
  } catch {
    return null;
  }
}

/**
 * One authorization in a pop-up: opens it now (still inside the click), runs `request` (the
 * mutation returning GitLab's authorize URL), then points the pop-up at that URL — or closes it
 * when no URL came back. `blocked` says the browser refused the pop-up (offer the same tab).
 */
export async function inAuthorizationPopup<R>(
  request: () => Promise<R>,
  urlOf: (result: R) => string | null | undefined,
): Promise<{ result: R; url: string | null; blocked: boolean }> {
  const popup = openBlankPopup();
  const result = await request();
  const url = urlOf(result) ?? null;
  if (!url) {
    popup?.close();
    return { result, url: null, blocked: false };
  }
  if (popup && !popup.closed) popup.location.href = url;
  return { result, url, blocked: !popup || popup.closed };
}
