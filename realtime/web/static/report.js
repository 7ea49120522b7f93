// One finished job: per-person summary, the timeline plot and the downloads.
const jobId = location.pathname.split("/").pop();
const DOWNLOADS = { csv: "CSV (per face and frame)", summary: "summary (JSON)", video: "annotated video (mp4)" };

function showError(message) { document.getElementById("error").textContent = message; }

function shares(track) {
  return Object.entries(track.share).sort((a, b) => b[1] - a[1]).slice(0, 3)
    .map(([emotion, share]) => `${emotion} ${(share * 100).toFixed(0)}%`).join(", ");
}

async function show(job) {
  document.getElementById("title").textContent = `Report: ${job.name}`;
  const summary = await api(job.outputs.summary);
  const overall = summary.overall;
  document.getElementById("overall").textContent =
    `${overall.people ?? "?"} people; mostly ${overall.dominant ?? "-"}; ${summary.frames_processed} frames in ${summary.seconds} s`;
  const rows = Object.entries(summary.tracks).map(([id, track]) => {
    const tr = element("tr", { "data-person": id });
    tr.appendChild(element("td", {}, `#${id}`));
    tr.appendChild(element("td", {}, `${track.first_s.toFixed(1)}-${track.last_s.toFixed(1)} s`));
    tr.appendChild(element("td", {}, track.dominant));
    tr.appendChild(element("td", {}, shares(track)));
    return tr;
  });
  document.getElementById("people").replaceChildren(...rows);
  const timeline = document.getElementById("timeline");
  if (job.outputs.timeline) timeline.src = withToken(job.outputs.timeline); else timeline.remove();
  const list = document.getElementById("downloads");
  for (const [name, label] of Object.entries(DOWNLOADS)) {
    if (!job.outputs[name]) continue;
    const item = element("li");
    item.appendChild(element("a", { href: withToken(job.outputs[name]), download: "", id: `download-${name}` }, label));
    list.appendChild(item);
  }
  document.getElementById("report").hidden = false;
}

async function poll() {
  try {
    const job = await api(`/api/jobs/${jobId}`);
    document.getElementById("status").textContent =
      job.status === "done" ? "" : `${job.status} ${(job.progress * 100).toFixed(0)}%${job.error ? ": " + job.error : ""}`;
    if (job.status === "done") { await show(job); return; }
    if (job.status === "queued" || job.status === "running") setTimeout(poll, 1000);
  } catch (error) { showError(error.message); }
}

navigation("");
poll();
