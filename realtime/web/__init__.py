"""fer-serve: the live view and recorded-video reports in a web browser.

models.py   the loaded models, shared by every connection and the image API
live.py     one browser's live view: WebSocket frames -> newest-frame slot -> Pipeline
jobs.py     uploaded recordings: checked as video, queued, run by fer-video's per-file job
app.py      the HTTP API, the WebSocket and the pages (FastAPI), token check, JSON errors
cli.py      the fer-serve command (uvicorn)
static/     the pages: live.html, recordings.html, report.html and their script and style
"""
