// Midjourney's dialogs and suggestions in the studio: a modal button's prompt dialog
// (the mask editor's own script runs Vary (Region)), and Shorten's suggested prompts.
(function () {
  htmx.onLoad((element) => {
    const dialog = element.id === "mj-modal" ? element : element.querySelector?.("#mj-modal");
    if (!dialog || dialog.dataset.ready) return;
    dialog.dataset.ready = "1";
    dialog.querySelector("[data-mj-modal-close]")?.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => dialog.remove());
    if (!dialog.open) dialog.showModal();
    dialog.querySelector("textarea")?.focus();
  });

  document.body.addEventListener("htmx:afterRequest", (e) => {
    if (!e.target.classList?.contains("mj-modal-form") || e.detail.xhr.status !== 201) return;
    e.target.closest("dialog")?.close();
  });

  // Shorten is offered beside the prompt while a Midjourney model is picked (the family
  // comes from the registry's model-controls JSON).
  function showShorten() {
    const form = document.getElementById("generate-form");
    const data = document.getElementById("model-controls");
    const shorten = form?.querySelector(".mj-shorten");
    if (!form || !data || !shorten) return;
    const model = JSON.parse(data.textContent)[form.elements.model.value];
    const kind = form.elements.kind?.value || "generate";
    shorten.hidden = !model || model.family !== shorten.dataset.family || kind !== "generate";
  }
  document.body.addEventListener("change", (e) => {
    if (e.target.name === "model" || e.target.name === "kind") showShorten();
  });
  htmx.onLoad(() => showShorten());
})();
