// Gallery niceties; everything works without them.
document.addEventListener("click", (event) => {
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    const text = document.querySelector(copy.dataset.copy)?.textContent.trim() ?? "";
    navigator.clipboard?.writeText(text).then(() => {
      copy.textContent = gettext("Copied");
      setTimeout(() => { copy.textContent = gettext("Copy prompt"); }, 1500);
    });
  }
});

document.addEventListener("change", (event) => {
  if (event.target.id === "select-all") {
    document.querySelectorAll('#gallery-grid input[name="images"]').forEach((box) => {
      box.checked = event.target.checked;
    });
  }
});

document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm
    || (event.target.id === "bulk-form" && event.target.action.value === "delete"
      ? gettext("Delete the selected images for good?") : "");
  if (message && !window.confirm(message)) event.preventDefault();
});
