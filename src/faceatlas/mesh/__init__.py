"""Dense landmarks (MediaPipe FaceMesh + Iris), head pose from the 3D mesh, and eye openness and gaze."""
