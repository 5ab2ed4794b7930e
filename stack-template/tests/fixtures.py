"""What the stack tool's tests build their stacks and apps from."""


def write_compose(stack, slug, version):
    """The lines of the compose file that name the deployment and tag the stack's images."""
    project = "${COMPOSE_PROJECT_NAME}"
    images = "".join(
        f"  {service}:\n    image: {project}-{service}:{version}\n"
        for service in ("backend", "frontend", "caddy")
    )
    (stack / "compose").mkdir(parents=True)
    (stack / "compose/docker-compose.app.yml").write_text(f"name: {slug}\nservices:\n{images}")
