// Shows only the controls the chosen model takes. The allowed values come from
// the server's model registry (the "model-controls" JSON), never from this file.
function setupStudioForm(form) {
  const data = document.getElementById("model-controls");
  if (!data) return;
  const models = JSON.parse(data.textContent);
  const choices = { quality: "qualities", style: "styles", background: "backgrounds",
                    output_format: "output_formats", moderation: "moderation_levels" };

  function field(name) { return form.querySelector(`[data-field="${name}"]`); }

  function fillSelect(select, values, current) {
    select.replaceChildren(new Option(pgettext("parameter value", "default"), ""));
    values.forEach((v) => select.add(new Option(v, v, false, v === current)));
  }

  function apply() {
    const model = models[form.elements.model.value];
    if (!model) return;
    document.getElementById("model-note").textContent = model.lifecycle_note || "";
    const sizes = document.getElementById("size-options");
    sizes.replaceChildren(...model.sizes.map((s) => new Option(s, s)));
    const size = form.elements.size;
    if (!size.value || (!model.sizes.includes(size.value) && !model.custom_size)) size.value = model.default_size;
    size.title = model.custom_size ? interpolate(gettext("Or %s"), [model.custom_size]) : "";
    field("size").hidden = model.sizes.length === 0 && !model.custom_size;
    form.elements.n.max = model.n_max;
    field("n").hidden = model.n_max <= 1;
    for (const [name, key] of Object.entries(choices)) {
      const select = form.elements[name];
      fillSelect(select, model[key], select.value || select.dataset.current);
      field(name).hidden = model[key].length === 0;
    }
    field("output_compression").hidden = !model.output_compression;
    // A hidden control must not send a value the new model would refuse.
    if (!model.output_compression) form.elements.output_compression.value = "";
    field("partial_images").hidden = !model.partial_images_max;
    form.elements.partial_images.max = model.partial_images_max;
    form.elements.partial_images.placeholder = `0–${model.partial_images_max}`;
    if (!model.partial_images_max) form.elements.partial_images.value = "";
    field("seed").hidden = !model.seed;
    if (!model.seed) form.elements.seed.value = "";
    applyModes(model);
    count();
  }

  // Modes are the model's registry kinds that the composer can ask for (imagine, blend,
  // describe), and a face swap where the model's connection allows one; a mode that takes
  // uploads swaps the prompt for file pickers.
  function offers(model, kind) {
    return kind === "swap_face" ? Boolean(model.swap_face) : model.kinds.includes(kind);
  }

  function applyModes(model) {
    const offered = [...form.querySelectorAll("[data-kind]")];
    offered.forEach((label) => { label.hidden = !offers(model, label.dataset.kind); });
    const visible = offered.filter((label) => !label.hidden);
    field("kind").hidden = visible.length <= 1;
    const checked = offered.find((label) => label.querySelector("input").checked);
    if (!checked || checked.hidden) visible[0].querySelector("input").checked = true;
    const kind = form.elements.kind.value;
    const uploads = model.input_counts[kind];
    const swap = kind === "swap_face";
    const noPrompt = Boolean(uploads) || swap;
    field("prompt").hidden = noPrompt;
    form.elements.prompt.disabled = noPrompt;
    form.querySelector(".params").hidden = noPrompt;
    field("images").hidden = !uploads;
    const images = form.elements.images;
    images.disabled = !uploads;
    field("swap_face").hidden = !swap;
    const accept = model.input_formats.map((f) => `image/${f.toLowerCase()}`).join(",");
    for (const name of ["source", "target"]) {
      form.elements[name].disabled = !swap;
      form.elements[name].accept = accept;
    }
    const button = document.getElementById("generate-button");
    button.textContent = noPrompt ? form.querySelector(`[data-kind="${kind}"]`).textContent.trim() : gettext("Generate");
    const megabytes = Math.floor(model.max_input_bytes / 1048576);
    const sizes = interpolate(gettext("%(formats)s up to %(megabytes)s MB each"),
                              { formats: model.input_formats.join(", "), megabytes }, true);
    document.getElementById("swap-hint").textContent = sizes;
    if (!uploads) return;
    const [fewest, most] = uploads;
    images.multiple = most > 1;
    images.accept = accept;
    document.getElementById("images-rule").textContent =
      fewest === most
        ? interpolate(ngettext("%s image", "%s images", fewest), [fewest])
        : interpolate(gettext("%(fewest)s–%(most)s images"), { fewest, most }, true);
    document.getElementById("images-hint").textContent = sizes;
  }

  function count() {
    const model = models[form.elements.model.value];
    const counter = document.getElementById("prompt-counter");
    const length = form.elements.prompt.value.length;
    counter.textContent = `${length.toLocaleString()} / ${model.prompt_max_chars.toLocaleString()}`;
    counter.classList.toggle("over", length > model.prompt_max_chars);
  }

  form.addEventListener("change", (e) => {
    if (e.target.name === "model") apply();
    if (e.target.name === "kind") applyModes(models[form.elements.model.value]);
  });
  form.addEventListener("input", (e) => { if (e.target.name === "prompt") count(); });
  form.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
  });
  apply();
}

document.body.addEventListener("click", (e) => {
  const item = e.target.closest(".history-item, .use-prompt");
  const form = document.getElementById("generate-form");
  if (!item || !form) return;
  // A described prompt goes back to the model that described it, in its prompt mode.
  const model = item.closest("[data-model]")?.dataset.model;
  if (model && [...form.elements.model.options].some((o) => o.value === model)) {
    form.elements.model.value = model;
  }
  const fromPrompt = form.querySelector('input[name="kind"][value="generate"]');
  if (fromPrompt) fromPrompt.checked = true;
  form.elements.model.dispatchEvent(new Event("change", { bubbles: true }));
  form.elements.prompt.value = item.dataset.prompt;
  form.elements.prompt.dispatchEvent(new Event("input", { bubbles: true }));
  form.elements.prompt.focus();
});

// The prompt being written survives a reload (kept in this browser only, per account); a
// job made from it clears the draft.
const DRAFT_KEY = `atelier.studio.draft-prompt.${document.body.dataset.user || ""}`;

function draftStore(action, value) {
  try {
    if (action === "set") localStorage.setItem(DRAFT_KEY, value);
    else if (action === "clear") localStorage.removeItem(DRAFT_KEY);
    else return localStorage.getItem(DRAFT_KEY) || "";
  } catch {
    return "";  // Storage refused (private mode, quota): drafts are a nicety.
  }
  return "";
}

function draftRestore(form) {
  const prompt = form.elements.prompt;
  const draft = draftStore("get");
  if (prompt && !prompt.value && draft) {
    prompt.value = draft;
    prompt.dispatchEvent(new Event("input", { bubbles: true }));
  }
}

document.body.addEventListener("input", (e) => {
  if (e.target.name === "prompt" && e.target.form?.id === "generate-form") {
    if (e.target.value.trim()) draftStore("set", e.target.value);
    else draftStore("clear");
  }
});

// One click, one job: the form drops a second submit while one is in flight
// (hx-sync, hx-disabled-elt), and the server answers a repeated form token with the
// first job's card. A success clears what an earlier failed submit said on the form.
function clearFormErrors(form) {
  form.querySelectorAll(".errors, .errorlist").forEach((element) => element.remove());
}

document.body.addEventListener("htmx:afterRequest", (e) => {
  if (e.target.id === "generate-form" && e.detail.xhr.status < 300) clearFormErrors(e.target);
  if (e.target.id === "generate-form" && e.detail.xhr.status === 201) {
    draftStore("clear");
    for (const name of ["images", "source", "target"]) e.target.elements[name].value = "";
    if (!e.target.elements.prompt.disabled) e.target.elements.prompt.focus();
  }
});

const lastPreview = new Map();

document.body.addEventListener("htmx:beforeSwap", (e) => {
  // Errors come back with HX-Retarget naming the element they belong in (the form,
  // or the card whose action failed), so messages appear beside what caused them.
  const xhr = e.detail.xhr;
  if (xhr.status >= 400 && xhr.status < 500 && xhr.getResponseHeader("HX-Retarget")) {
    e.detail.shouldSwap = true;
    e.detail.isError = false;
  }
  // Keep the last preview under the next one while it loads, so it sharpens without a blink.
  const previous = e.detail.target.querySelector?.(".partial-frame img.partial");
  if (e.detail.target.classList?.contains("job-card") && previous?.complete) {
    lastPreview.set(e.detail.target.id, previous.currentSrc);
  }
});

htmx.onLoad((element) => {
  const form = element.id === "generate-form" ? element : element.querySelector?.("#generate-form");
  if (form) {
    setupStudioForm(form);
    draftRestore(form);
  }
  if (element.classList?.contains("job-card")) {
    document.getElementById("no-jobs")?.remove();
    const frame = element.querySelector(".partial-frame");
    const previous = lastPreview.get(element.id);
    if (frame && previous) frame.style.backgroundImage = `url("${previous}")`;
    if (!frame) lastPreview.delete(element.id);
  }
});
