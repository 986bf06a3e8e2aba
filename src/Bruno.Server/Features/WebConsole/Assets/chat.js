// Bruno console: asks through the API and shows the answer as it is written (server-sent events of POST /api/v1/query).
// The page works without this script (the form is answered by the server); this only makes the answer stream.
// Text is only ever put in the page as text (textContent), never as markup.

const form = document.getElementById("ask");
const answer = document.getElementById("answer");

// the anchor of a section in a document's page: the same rule as ConsoleText.Anchor on the server
function anchor(section) {
  const words = section.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w.length > 0);
  return "s-" + words.join("-");
}

// how a citation reads: the same rule as ConsoleText.Label on the server
function label(source) {
  const { title, section, page } = source;
  const where = !section ? title : section === title || section.startsWith(title + " › ") ? section : title + " › " + section;
  return where + (page ? ", page " + page : "");
}

function link(source) {
  const a = document.createElement("a");
  a.href = "/console/documents/" + encodeURIComponent(source.document_id) + (source.section ? "#" + anchor(source.section) : "");
  a.textContent = label(source);
  return a;
}

function element(name, className, text) {
  const e = document.createElement(name);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function showSources(box, done) {
  if (done.answered && done.sources.length > 0) {
    box.append(element("h2", null, "Sources"));
    const list = element("ol", "sources");
    for (const s of done.sources) {
      const item = element("li");
      item.id = "source-" + s.n;
      item.value = s.n;
      item.append(link(s), element("blockquote", null, s.snippet));
      list.append(item);
    }
    box.append(list);
  } else if (!done.answered && done.suggestions.length > 0) {
    box.append(element("h2", null, "Nearest passages (not an answer)"));
    const list = element("ul", "sources");
    for (const s of done.suggestions) {
      const item = element("li");
      item.append(link(s));
      list.append(item);
    }
    box.append(list);
  }
}

// thumbs up or down on an answer kept in the user's memory (POST /api/v1/feedback)
function feedback(box, turnId, token) {
  const bar = element("div", "feedback");
  const status = element("span", null, "");
  status.setAttribute("role", "status");
  for (const [rating, label] of [["up", "Helpful"], ["down", "Not helpful"]]) {
    const button = element("button", null, label);
    button.type = "button";
    button.addEventListener("click", async () => {
      const response = await fetch("/api/v1/feedback", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
        body: JSON.stringify({ turn_id: turnId, rating }),
      });
      status.textContent = response.ok ? "Thanks: noted." : "Your rating could not be saved.";
      for (const b of bar.querySelectorAll("button")) b.disabled = response.ok;
    });
    bar.append(button);
  }
  bar.append(status);
  box.append(bar);
}

async function ask(event) {
  event.preventDefault();
  const query = form.querySelector("textarea").value.trim();
  if (!query) return;
  const token = form.querySelector("input[name=__RequestVerificationToken]").value;
  const button = form.querySelector("button");
  button.disabled = true;
  answer.replaceChildren();
  answer.setAttribute("aria-busy", "true");
  const box = element("div", "answer");
  const text = element("p", "answer-text");
  box.append(text);
  answer.append(box);
  try {
    const body = { query };
    if (form.dataset.session) body.session_id = form.dataset.session;
    const response = await fetch("/api/v1/query", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream", "X-CSRF-Token": token },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      throw new Error(problem.detail || problem.title || "The question was refused (" + response.status + ").");
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = "message";
        let data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data += line.slice(5).trim();
        }
        if (!data) continue;
        const payload = JSON.parse(data);
        if (name === "delta") {
          text.textContent += payload.text;
        } else if (name === "done") {
          text.textContent = payload.answer;
          box.dataset.answered = payload.answered ? "true" : "false";
          if (!payload.answered) box.classList.add("not-found");
          form.dataset.session = payload.session_id;
          const sessionField = form.querySelector("input[name=SessionId]");
          if (sessionField) sessionField.value = payload.session_id;
          showSources(box, payload);
          if (payload.turn_id) feedback(box, payload.turn_id, token);
        } else if (name === "error") {
          throw new Error(payload.detail || payload.title || "The answer failed.");
        }
      }
    }
  } catch (e) {
    const alert = element("p", "error", e.message);
    alert.setAttribute("role", "alert");
    answer.append(alert);
  } finally {
    answer.setAttribute("aria-busy", "false");
    button.disabled = false;
  }
}

if (form) {
  form.addEventListener("submit", ask);
  form.querySelector("textarea").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
}
