"""What the node publishes, decided without ROS: label images, overlays, the planning scene, which outputs run."""
