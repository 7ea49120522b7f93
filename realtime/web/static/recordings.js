// Upload videos (one request each), then follow the queue: status, progress, cancel, report.
function showError(message) { document.getElementById("error").textContent = message; }

async function upload(event) {
  event.preventDefault();
  showError("");
  const files = [...document.getElementById("file").files];
  for (const file of files) {
    const form = new FormData();
    form.append("file", file);
    try {
      const job = await api("/api/jobs", { method: "POST", body: form });
      location.hash = job.id;  // the newest job: the test and the user can follow it
    } catch (error) {
      showError(`${file.name}: ${error.message}`);
    }
  }
  document.getElementById("upload").reset();
  refresh();
}

function row(job) {
  const tr = element("tr", { "data-job-id": job.id, "data-status": job.status });
  tr.appendChild(element("td", {}, job.name));
  const position = job.queue_position ? ` (#${job.queue_position} in queue)` : "";
  tr.appendChild(element("td", { class: "status" }, job.status + position + (job.error ? `: ${job.error}` : "")));
  const cell = element("td");
  const bar = element("progress", { max: "1", value: String(job.progress) });
  cell.appendChild(bar);
  tr.appendChild(cell);
  const actions = element("td");
  if (job.status === "done") {
    actions.appendChild(element("a", { href: withToken(`/report/${job.id}`), class: "report" }, "report"));
  } else if (job.status === "queued" || job.status === "running") {
    const button = element("button", { class: "cancel" }, "cancel");
    button.onclick = async () => {
      try { await api(`/api/jobs/${job.id}/cancel`, { method: "POST" }); } catch (error) { showError(error.message); }
      refresh();
    };
    actions.appendChild(button);
  }
  tr.appendChild(actions);
  return tr;
}

async function refresh() {
  try {
    const { jobs } = await api("/api/jobs");
    document.getElementById("jobs").replaceChildren(...jobs.map(row));
  } catch (error) { showError(error.message); }
}

navigation("/recordings");
document.getElementById("upload").onsubmit = upload;
refresh();
setInterval(refresh, 1000);
