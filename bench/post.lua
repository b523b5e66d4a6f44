-- wrk script: POST XML-RPC bodies to the URL given on the command line. $BODY names one file,
-- or several separated by ':' that each connection sends in turn (calls about several nodes).
local bodies = {}
for path in string.gmatch(os.getenv("BODY"), "[^:]+") do
  local f = assert(io.open(path, "rb"))
  bodies[#bodies + 1] = f:read("*a")
  f:close()
end
local headers = { ["Content-Type"] = "text/xml" }
local next_body = 0

request = function()
  next_body = next_body % #bodies + 1
  return wrk.format("POST", nil, headers, bodies[next_body])
end
