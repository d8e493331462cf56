// Bulk selection: a header checkbox that ticks every row of the page. Without this script
// the rows are still ticked one by one; the header box stays hidden.
document.querySelectorAll("#pick-all").forEach((all) => {
  const table = all.closest("table");
  const rows = () => table.querySelectorAll("tbody input[type=checkbox][name=ids]");
  all.hidden = false;
  all.addEventListener("change", () => rows().forEach((box) => { box.checked = all.checked; }));
  table.addEventListener("change", (event) => {
    if (event.target === all) return;
    const boxes = [...rows()];
    all.checked = boxes.length > 0 && boxes.every((box) => box.checked);
    all.indeterminate = !all.checked && boxes.some((box) => box.checked);
  });
});
