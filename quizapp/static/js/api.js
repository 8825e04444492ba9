// JSON API client: session cookie + X-CSRFToken; retries network failures (answers are idempotent).
const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

export class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// keepalive: the request outlives the page (a save sent as the page is hidden or unloaded).
export async function api(method, url, body, { retries = 3, onRetry, keepalive = false } = {}) {
  for (let attempt = 0; ; attempt += 1) {
    let response;
    try {
      response = await fetch(url, {
        method,
        credentials: "same-origin",
        keepalive,
        headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (networkError) {
      if (attempt >= retries) throw new ApiError("网络连接失败，请检查网络后重试", 0, "network");
      onRetry?.(attempt + 1);
      await sleep(600 * 2 ** attempt);
      continue;
    }
    const data = await response.json().catch(() => ({}));
    if (response.status === 401) {
      window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
      throw new ApiError("请先登录", 401, "unauthorized");
    }
    if (!response.ok) {
      if (response.status >= 500 && attempt < retries) {
        onRetry?.(attempt + 1);
        await sleep(600 * 2 ** attempt);
        continue;
      }
      throw new ApiError(data.error?.message ?? `请求失败（${response.status}）`, response.status, data.error?.code);
    }
    return data;
  }
}
