// Shared by the pages: the token from ?token= (kept for API calls and the WebSocket), JSON
// fetches that turn {"error": ...} answers into exceptions with that message.
const params = new URLSearchParams(location.search);
if (params.get("token")) sessionStorage.setItem("fer_token", params.get("token"));
const TOKEN = sessionStorage.getItem("fer_token");

function withToken(url) {
  if (!TOKEN) return url;
  return url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN);
}

async function api(url, options = {}) {
  const response = await fetch(withToken(url), options);
  let body = null;
  try { body = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok) throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  return body;
}

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text) node.textContent = text;  // never innerHTML: names come from uploads
  return node;
}

function navigation(current) {
  const header = document.querySelector("header");
  for (const [href, label] of [["/", "Live"], ["/recordings", "Recordings"]]) {
    const link = element("a", { href: withToken(href) }, label);
    if (href === current) link.className = "here";
    header.appendChild(link);
  }
}
