"""`serve`: the HTTP service. command (the subcommand) over on_ray (Ray Serve) over app (the
routes), which stand on upload (reading a photo from a request), batcher, schema, server,
ray_proxy and guard (the door: body limits, Host allow-list, token)."""
