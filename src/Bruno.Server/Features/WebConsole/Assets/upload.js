// Bruno console: uploads the chosen files with a progress bar (the same form, sent by XMLHttpRequest, whose upload
// reports progress), then shows the documents page the server answers with. Without this script the form posts as is.
const form = document.getElementById("upload");
const bar = document.getElementById("upload-progress");

if (form && bar) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    bar.hidden = false;
    bar.value = 0;
    request.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
    });
    request.addEventListener("load", () => {
      bar.value = 100;
      window.location.assign(request.responseURL || "/console/documents");
    });
    request.addEventListener("error", () => {
      bar.hidden = true;
      const alert = document.createElement("p");
      alert.className = "error";
      alert.setAttribute("role", "alert");
      alert.textContent = "The upload failed; try again.";
      form.after(alert);
    });
    form.querySelector("button[type=submit]").disabled = true;
    request.send(new FormData(form));
  });
}
