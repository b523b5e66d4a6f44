-- wrk script: POST the XML-RPC body in $BODY to the URL given on the command line.
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "text/xml"
