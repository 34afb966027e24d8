/**
 * The OAuth pop-up. Browsers allow a pop-up only while handling the user's click, so it is opened
 * synchronously (blank) before the API is asked for the authorization URL, then pointed at it. The
 * result reaches the main window through the `connectionStatusChanged` subscription, not from the
 * pop-up itself.
 */
const WIDTH = 640;
const HEIGHT = 760;

export function openBlankPopup(): Window | null {
  const left = Math.max(0, window.screenX + (window.outerWidth - WIDTH) / 2);
  const top = Math.max(0, window.screenY + (window.outerHeight - HEIGHT) / 2);
  try {
    const popup = window.open('', 'labkeeper-gitlab-authorization', `popup,width=${WIDTH},height=${HEIGHT},left=${left},top=${top}`);
    if (!popup || popup.closed) return null;
    popup.document.title = 'Connecting to GitLab…';
    popup.document.body.textContent = 'Opening GitLab…';
    return popup;
  } catch {
    return null;
  }
}
