-- Drives Neovim's built-in LSP client (0.7+) against `tapkit lsp`, headless: open a script, wait for
-- diagnostics, ask for document symbols and completion, write what came back as JSON, quit.
-- Environment: TAPKIT_CMD (the server command, tab-separated), TAPKIT_ROOT, TAPKIT_SCRIPT,
-- TAPKIT_SETTINGS (JSON), TAPKIT_COMPLETE (JSON list of {line, character} 0-based), TAPKIT_OUT.
local out = { errors = {} }

local function finish()
  vim.fn.writefile({ vim.fn.json_encode(out) }, vim.env.TAPKIT_OUT)
  vim.cmd("qa!")
end

local function run()
  vim.cmd("edit " .. vim.fn.fnameescape(vim.env.TAPKIT_SCRIPT))
  local bufnr = vim.api.nvim_get_current_buf()
  local client_id = vim.lsp.start_client({
    name = "tapkit",
    cmd = vim.split(vim.env.TAPKIT_CMD, "\t"),
    root_dir = vim.env.TAPKIT_ROOT,
    init_options = vim.fn.json_decode(vim.env.TAPKIT_SETTINGS),
  })
  out.client = client_id ~= nil
  vim.lsp.buf_attach_client(bufnr, client_id)

  out.got_diagnostics = vim.wait(60000, function() return #vim.diagnostic.get(bufnr) > 0 end, 50)
  out.diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    table.insert(out.diagnostics, { lnum = d.lnum, col = d.col, message = d.message, severity = d.severity })
  end

  local doc = { textDocument = { uri = vim.uri_from_bufnr(bufnr) } }
  local symbols = vim.lsp.buf_request_sync(bufnr, "textDocument/documentSymbol", doc, 30000) or {}
  out.symbols = {}
  for _, response in pairs(symbols) do
    if response.err then table.insert(out.errors, response.err.message) end
    for _, s in ipairs(response.result or {}) do
      local children = {}
      for _, c in ipairs(s.children or {}) do table.insert(children, c.name) end
      table.insert(out.symbols, { name = s.name, kind = s.kind, line = s.range.start.line, children = children })
    end
  end

  out.completions = {}
  for _, p in ipairs(vim.fn.json_decode(vim.env.TAPKIT_COMPLETE)) do
    local params = { textDocument = doc.textDocument, position = { line = p[1], character = p[2] } }
    local responses = vim.lsp.buf_request_sync(bufnr, "textDocument/completion", params, 30000) or {}
    local labels = {}
    for _, response in pairs(responses) do
      if response.err then table.insert(out.errors, response.err.message) end
      local result = response.result or {}
      for _, item in ipairs(result.items or result) do table.insert(labels, item.label) end
    end
    table.insert(out.completions, labels)
  end

  vim.lsp.stop_client(client_id)
  out.stopped = vim.wait(10000, function() return vim.lsp.get_client_by_id(client_id) == nil end, 50)
end

local ok, err = pcall(run)
if not ok then table.insert(out.errors, tostring(err)) end
finish()
