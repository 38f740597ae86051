// The demo app's webhook panel: after FaceID's redirect, shows the signed webhook that the
// local receiver (local/webhook_receiver.py) got for this session, next to the outcome the app read.
// The receiver's URL comes from `?webhooks=` once (then localStorage), like the API's `?api=`.
(function () {
  const query = new URLSearchParams(location.search);
  const receiver = query.get("webhooks") || localStorage.getItem("faceidWebhooks") || "http://127.0.0.1:8090/webhooks";
  localStorage.setItem("faceidWebhooks", receiver);
  const token = query.get("token");
  if (!token) return;

  let box = document.getElementById("webhook");
  if (!box) { // the page has no slot for it (yet): add one at the end
    box = document.createElement("section");
    box.id = "webhook";
    document.body.appendChild(box);
  }
  box.dataset.token = token;

  function row(table, label, id, value) {
    const tr = table.insertRow();
    tr.insertCell().textContent = label;
    const cell = tr.insertCell();
    cell.id = id;
    cell.textContent = value ?? "–";
  }

  function show(delivery) {
    const data = delivery.payload.data || {};
    box.replaceChildren();
    const title = document.createElement("div");
    title.textContent = "Webhook received: " + delivery.payload.type + (delivery.verified ? " (signature verified)" : "");
    const table = document.createElement("table");
    row(table, "Status", "webhook-status", data.Status);
    row(table, "FaceID ErrorCode", "webhook-code", data.ErrorCode);
    row(table, "webhook-id", "webhook-id", delivery["webhook-id"]);
    row(table, "Completed at", "webhook-completed", data.CompletedAt);
    row(table, "Duplicates dropped", "webhook-duplicates", delivery.duplicates);
    box.append(title, table);
    box.dataset.status = data.Status;
    box.classList.add("arrived");
  }

  const started = Date.now();
  async function poll() {
    try {
      const answer = await fetch(receiver + "?token=" + encodeURIComponent(token));
      const found = await answer.json();
      if (found.length) return show(found[0]);
    } catch (error) {
      // the receiver is not up (yet): keep asking for a while
    }
    if (Date.now() - started < 90000) setTimeout(poll, 1000);
  }
  poll();
})();
