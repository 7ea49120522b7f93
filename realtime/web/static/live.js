// The live view: webcam frames (JPEG, at most MAX_IN_FLIGHT unanswered) over the WebSocket; the
// server answers each frame it processed with its faces, which are drawn over the video.
// Latency = from a frame's send to its result drawn; the server skips frames that arrive while
// it is busy, so answers cover the newest frames only.
const MAX_IN_FLIGHT = 2;
const MAX_WIDTH = 640;
const LATENCY_WINDOW = 200;
const EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"];

const video = document.getElementById("video");
const overlay = document.getElementById("overlay");
const capture = document.createElement("canvas");
const sentAt = new Map();
const latencies = [];
const resultTimes = [];
let socket = null;
let seq = 0;
let frameSize = [0, 0];
let lastAnswer = performance.now();
window.ferLive = { latencies, results: 0, lastFaces: [] };  // read by the browser test

function showError(message) { document.getElementById("error").textContent = message; }

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : NaN;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(withToken(`${scheme}://${location.host}/ws/live`));
  socket.binaryType = "arraybuffer";
  socket.onmessage = (event) => handle(JSON.parse(event.data));
  socket.onclose = (event) => showError(`connection closed (${event.code}${event.reason ? ": " + event.reason : ""})`);
}

function sendFrame() {
  if (!socket || socket.readyState !== WebSocket.OPEN || !video.videoWidth) return;
  if (performance.now() - lastAnswer > 3000) sentAt.clear();  // answers lost: start again
  if (sentAt.size >= MAX_IN_FLIGHT) return;
  const scale = Math.min(1, MAX_WIDTH / video.videoWidth);
  capture.width = Math.round(video.videoWidth * scale);
  capture.height = Math.round(video.videoHeight * scale);
  capture.getContext("2d").drawImage(video, 0, 0, capture.width, capture.height);
  const number = ++seq;
  sentAt.set(number, performance.now());
  frameSize = [capture.width, capture.height];
  capture.toBlob(async (blob) => {
    const header = new Uint32Array([number]);
    socket.send(await new Blob([header, blob]).arrayBuffer());
  }, "image/jpeg", 0.8);
}

function handle(message) {
  if (message.type === "error") { showError(message.error); return; }
  if (message.type === "settings") {
    for (const key of ["model", "mode", "smoothing"]) document.getElementById(key).value = String(message[key]);
    showError("");
    return;
  }
  if (message.type !== "result") return;
  lastAnswer = performance.now();
  draw(message.faces);
  const now = performance.now();
  if (sentAt.has(message.seq)) {
    latencies.push(now - sentAt.get(message.seq));
    if (latencies.length > LATENCY_WINDOW) latencies.shift();
  }
  for (const number of [...sentAt.keys()]) if (number <= message.seq) sentAt.delete(number);
  resultTimes.push(now);
  while (resultTimes.length && now - resultTimes[0] > 1000) resultTimes.shift();
  window.ferLive.results += 1;
  window.ferLive.lastFaces = message.faces;
  document.getElementById("fps").textContent = resultTimes.length;
  document.getElementById("latency").textContent = median(latencies).toFixed(0);
  document.getElementById("latency-n").textContent = latencies.length;
  document.getElementById("server-ms").textContent = message.server_ms.toFixed(0);
  document.getElementById("dropped").textContent = message.dropped;
  document.getElementById("face-count").textContent = message.faces.length;
  showFaces(message.faces);
}

function draw(faces) {
  overlay.width = video.clientWidth;
  overlay.height = video.clientHeight;
  const context = overlay.getContext("2d");
  const sx = overlay.width / frameSize[0], sy = overlay.height / frameSize[1];
  context.lineWidth = 3;
  context.font = "16px system-ui, sans-serif";
  for (const face of faces) {
    const [x, y, w, h] = face.box;
    context.strokeStyle = context.fillStyle = "#4c9";
    context.strokeRect(x * sx, y * sy, w * sx, h * sy);
    const text = `#${face.id} ${face.label} ${(face.confidence * 100).toFixed(0)}%`;
    context.fillRect(x * sx, y * sy - 22, context.measureText(text).width + 8, 22);
    context.fillStyle = "#000";
    context.fillText(text, x * sx + 4, y * sy - 6);
  }
  overlay.dataset.drawn = faces.length;
}

function showFaces(faces) {
  const panel = document.getElementById("faces");
  panel.replaceChildren(...faces.map((face) => {
    const box = element("div", { class: "face", "data-face-id": face.id });
    box.appendChild(element("div", { class: "face-label" }, `#${face.id} ${face.label}`));
    for (const emotion of EMOTIONS) {
      const bar = element("div", { class: "bar" });
      bar.appendChild(element("span", { class: "label" }, emotion));
      const track = element("span", { class: "track" });
      const fill = element("span", { class: "fill" });
      fill.style.display = "block";
      fill.style.width = `${(face.probabilities[emotion] * 100).toFixed(1)}%`;
      track.appendChild(fill);
      bar.appendChild(track);
      bar.appendChild(element("span", {}, `${(face.probabilities[emotion] * 100).toFixed(0)}%`));
      box.appendChild(bar);
    }
    return box;
  }));
}

function sendSettings() {
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  socket.send(JSON.stringify({
    model: document.getElementById("model").value,
    mode: document.getElementById("mode").value,
    smoothing: Number(document.getElementById("smoothing").value),
  }));
}

async function start() {
  navigation("/");
  try {
    const models = await api("/api/models");
    const select = document.getElementById("model");
    for (const name of models.models) select.appendChild(element("option", { value: name }, name));
    select.value = models.default;
    document.getElementById("mode").value = models.default_mode;
  } catch (error) { showError(error.message); return; }
  for (const id of ["model", "mode", "smoothing"]) document.getElementById(id).onchange = sendSettings;
  try {
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  } catch (error) { showError(`no camera: ${error.message}`); return; }
  connect();
  setInterval(sendFrame, 1000 / 30);
}

start();
