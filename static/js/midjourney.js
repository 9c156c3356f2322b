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

  // Shorten sends the prompt being written, not a saved one: the button's request
  // carries the prompt box's text.
  document.body.addEventListener("htmx:configRequest", (e) => {
    if (e.target.id !== "shorten-button") return;
    const form = document.getElementById("generate-form");
    e.detail.parameters.prompt = form?.elements.prompt.value || "";
    e.detail.parameters.model = form?.elements.model.value || "";
  });
})();
