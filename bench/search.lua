-- bench/search.lua — wrk script: every request a different path from a file, in turn.
--
--   BENCH_PATHS=queries.txt BENCH_TOKEN=... wrk -s bench/search.lua http://127.0.0.1:PORT
--
-- BENCH_PATHS names a file of request paths, one a line (bench/make_registry.py queries writes
-- the search queries; scripts/bench --load writes a mix of GET routes the same way). Each wrk thread starts at its own place in the list (thread i of n at i/n of the way)
-- and walks it in order, wrapping around, so the threads do not ask the same thing at the same
-- time and each query comes back only after every other one has been asked. BENCH_THREADS is
-- wrk's -t (for the starting places).
-- BENCH_TOKEN, when set, goes into an `Authorization: Bearer` header (from the environment, so it
-- never shows on a command line).

local paths = {}
local next_index = 1
local thread_count = 0

local function load_paths()
  local file = os.getenv("BENCH_PATHS")
  assert(file and file ~= "", "BENCH_PATHS must name a file of request paths")
  local list = {}
  for line in io.lines(file) do
    if line ~= "" then list[#list + 1] = line end
  end
  assert(#list > 0, "no paths in " .. file)
  return list
end

function setup(thread)
  thread:set("thread_number", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  paths = load_paths()
  local token = os.getenv("BENCH_TOKEN")
  if token and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
  local n = tonumber(os.getenv("BENCH_THREADS") or "1") or 1
  local i = tonumber(thread_number) or 0
  next_index = (math.floor(#paths * i / math.max(n, 1)) % #paths) + 1
end

function request()
  local path = paths[next_index]
  next_index = next_index + 1
  if next_index > #paths then next_index = 1 end
  return wrk.format("GET", path)
end
