// The mask editor. The canvas has the image's own pixel size; strokes are drawn
// opaque and shown translucent by CSS. The PNG sent is opaque black with the
// painted area transparent: image edit APIs repaint where the mask's alpha is zero.
(function () {
  const UNDO_LIMIT = 20;
  const INK = "#ff2d6f";

  function setup(dialog) {
    const canvas = dialog.querySelector("#mask-canvas");
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    const brush = dialog.querySelector("#brush-size");
    const history = [];
    let tool = "brush";
    let last = null;

    function snapshot() {
      history.push(ctx.getImageData(0, 0, canvas.width, canvas.height));
      if (history.length > UNDO_LIMIT) history.shift();
    }

    function point(e) {
      const box = canvas.getBoundingClientRect();
      const scale = canvas.width / box.width;
      return { x: (e.clientX - box.left) * scale, y: (e.clientY - box.top) * (canvas.height / box.height), scale };
    }

    function stroke(from, to) {
      ctx.globalCompositeOperation = tool === "eraser" ? "destination-out" : "source-over";
      ctx.strokeStyle = INK;
      ctx.lineWidth = Number(brush.value) * to.scale;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.beginPath();
      ctx.moveTo(from.x, from.y);
      ctx.lineTo(to.x, to.y);
      ctx.stroke();
    }

    canvas.addEventListener("pointerdown", (e) => {
      e.preventDefault();
      canvas.setPointerCapture(e.pointerId);
      snapshot();
      last = point(e);
      stroke(last, last);
    });
    canvas.addEventListener("pointermove", (e) => {
      if (!last) return;
      const next = point(e);
      stroke(last, next);
      last = next;
    });
    for (const type of ["pointerup", "pointercancel"]) {
      canvas.addEventListener(type, () => { last = null; });
    }

    // Keyboard painting: arrow keys move a brush cursor (Shift: faster), Space held paints.
    const marker = dialog.querySelector("#mask-cursor");
    const keyStatus = dialog.querySelector("#mask-key-status");
    const cursor = { x: canvas.width / 2, y: canvas.height / 2 };
    let spaceDown = false;

    // A zero-length stroke draws nothing in Chromium, so a single press paints a disc.
    function dab(at) {
      ctx.globalCompositeOperation = tool === "eraser" ? "destination-out" : "source-over";
      ctx.fillStyle = INK;
      ctx.beginPath();
      ctx.arc(at.x, at.y, (Number(brush.value) * at.scale) / 2, 0, 2 * Math.PI);
      ctx.fill();
    }

    function cursorScale() {
      return canvas.width / canvas.getBoundingClientRect().width;
    }

    function showCursor() {
      if (!marker) return;
      const size = Number(brush.value);
      marker.style.width = marker.style.height = `${size}px`;
      marker.style.left = `${(cursor.x / canvas.width) * 100}%`;
      marker.style.top = `${(cursor.y / canvas.height) * 100}%`;
      marker.hidden = document.activeElement !== canvas;
      if (keyStatus) {
        const across = Math.round((cursor.x / canvas.width) * 100);
        const down = Math.round((cursor.y / canvas.height) * 100);
        keyStatus.textContent = interpolate(
          spaceDown ? gettext("Brush at %(across)s across, %(down)s down, painting.")
                    : gettext("Brush at %(across)s across, %(down)s down."),
          { across: `${across}%`, down: `${down}%` }, true);
      }
    }

    const MOVES = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    canvas.addEventListener("keydown", (e) => {
      const scale = cursorScale();
      if (e.key === " ") {
        e.preventDefault();
        if (!spaceDown) {
          spaceDown = true;
          snapshot();
          dab({ ...cursor, scale });
        }
        showCursor();
        return;
      }
      const move = MOVES[e.key];
      if (!move) return;
      e.preventDefault();
      const step = (e.shiftKey ? 4 : 1) * Math.max(4, Number(brush.value) / 2) * scale;
      const from = { ...cursor, scale };
      cursor.x = Math.min(canvas.width, Math.max(0, cursor.x + move[0] * step));
      cursor.y = Math.min(canvas.height, Math.max(0, cursor.y + move[1] * step));
      if (spaceDown) stroke(from, { ...cursor, scale });
      showCursor();
    });
    canvas.addEventListener("keyup", (e) => {
      if (e.key === " ") {
        spaceDown = false;
        showCursor();
      }
    });
    canvas.addEventListener("focus", showCursor);
    canvas.addEventListener("blur", () => {
      spaceDown = false;
      if (marker) marker.hidden = true;
    });
    brush.addEventListener("input", showCursor);

    dialog.querySelectorAll("[data-tool]").forEach((button) => {
      button.addEventListener("click", () => {
        tool = button.dataset.tool;
        dialog.querySelectorAll("[data-tool]").forEach((b) => {
          b.setAttribute("aria-pressed", String(b === button));
        });
      });
    });
    dialog.querySelector("#mask-undo").addEventListener("click", () => {
      const previous = history.pop();
      if (previous) ctx.putImageData(previous, 0, 0);
    });
    dialog.querySelector("#mask-clear").addEventListener("click", () => {
      snapshot();
      ctx.clearRect(0, 0, canvas.width, canvas.height);
    });
    dialog.addEventListener("keydown", (e) => {
      if (e.key === "z" && (e.ctrlKey || e.metaKey) && e.target.tagName !== "TEXTAREA") {
        e.preventDefault();
        dialog.querySelector("#mask-undo").click();
      }
    });
    dialog.querySelector("[data-editor-close]")?.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => dialog.remove());
    if (!dialog.open) dialog.showModal();
  }

  function painted(canvas) {
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) return true;
    return false;
  }

  function maskBlob(canvas) {
    const mask = document.createElement("canvas");
    mask.width = canvas.width;
    mask.height = canvas.height;
    const ctx = mask.getContext("2d");
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, mask.width, mask.height);
    ctx.globalCompositeOperation = "destination-out";
    ctx.drawImage(canvas, 0, 0);
    return new Promise((resolve) => mask.toBlob(resolve, "image/png"));
  }

  // The mask is made asynchronously, so the form's htmx request waits for "mask-ready".
  document.addEventListener("submit", async (e) => {
    const form = e.target;
    if (form.id !== "edit-form") return;
    e.preventDefault();
    const canvas = document.getElementById("mask-canvas");
    const files = new DataTransfer();
    if (painted(canvas)) {
      files.items.add(new File([await maskBlob(canvas)], "mask.png", { type: "image/png" }));
    }
    form.elements.mask.files = files.files;
    htmx.trigger(form, "mask-ready");
  });

  document.addEventListener("keydown", (e) => {
    const form = e.target.closest?.("#edit-form");
    if (form && e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  // The editor also has a page of its own (without studio.js): its errors come back as
  // 4xx with HX-Retarget naming the form, and are swapped in beside their fields.
  document.addEventListener("htmx:beforeSwap", (e) => {
    const xhr = e.detail.xhr;
    if (xhr.status >= 400 && xhr.status < 500 && xhr.getResponseHeader("HX-Retarget") === "#edit-form") {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterRequest", (e) => {
    // Errors swapped in beside their fields count as handled, so check the status itself.
    if (e.target.id !== "edit-form" || e.detail.xhr.status !== 201) return;
    e.target.querySelectorAll(".errors, .errorlist").forEach((element) => element.remove());
    const dialog = e.target.closest("dialog");
    if (dialog?.matches(":modal")) dialog.close();
  });

  htmx.onLoad((element) => {
    const dialog = element.id === "mask-editor" ? element : element.querySelector?.("#mask-editor");
    if (dialog && !dialog.dataset.ready) {
      dialog.dataset.ready = "1";
      setup(dialog);
    }
  });
})();
