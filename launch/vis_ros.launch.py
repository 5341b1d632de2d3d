"""Start the vis_ros lifecycle node on a camera, or on several with one engine.

    ros2 launch vis_ros vis_ros.launch.py use_depth:=true
    ros2 launch vis_ros vis_ros.launch.py camera:=/robot/front/color namespace:=robot1
    ros2 launch vis_ros vis_ros.launch.py cameras:=[front,left] use_depth:=true rviz:=true

Arguments: model, namespace, params_file, use_sim_time, autostart
(configure + activate without a lifecycle manager; false under Nav2's
lifecycle_manager), qos_reliability, use_depth, rviz, fixed_frame; where the
inputs come from: camera, image_topic, depth_topic, camera_info_topic (one
camera) or cameras with image_template / depth_template / info_template
(several), realsense2_camera's layout by default
(vis_ros/processes/camera_topics.py).

rviz gets a configuration written for this launch: per camera the overlay,
and with depth the markers and segmented points (vis_ros/processes/rviz_config.py).
With rviz:=true and no rviz2, the launch fails before starting the node.

The node applies config/fastdds_large_messages.xml to itself, and rviz gets
it here, unless FASTDDS_DEFAULT_PROFILES_FILE is already set: camera-sized
messages then go over shared memory (~2 ms) instead of fragmented UDP
(~12 ms, and lost with best-effort QoS). Start the camera driver with the
same variable for the images it publishes.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node

from launch import LaunchDescription
from vis_ros.processes.camera_topics import TOPIC_ARGUMENTS, launch_remappings, parse_cameras
from vis_ros.processes.rviz_config import require_rviz2, rviz_displays, write_rviz_config

NODE_NAME = "vis_ros"


def generate_launch_description():
    """Return the launch description: the lifecycle node on its cameras, rviz optional."""
    share = get_package_share_directory("vis_ros")
    args = [
        DeclareLaunchArgument("model", default_value="", description="ONNX/engine; empty: embedded model"),
        DeclareLaunchArgument("namespace", default_value="", description="namespace of the node"),
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "vis_ros.yaml"),
                              description="parameter YAML"),
        DeclareLaunchArgument("use_sim_time", default_value="false", description="use /clock"),
        DeclareLaunchArgument("autostart", default_value="true",
                              description="configure and activate without a lifecycle manager"),
        DeclareLaunchArgument("qos_reliability", default_value="best_effort",
                              description="best_effort or reliable, to match the camera driver"),
        DeclareLaunchArgument("use_depth", default_value="false", description="depth + camera_info, 3D outputs"),
        DeclareLaunchArgument("rviz", default_value="false", description="also start rviz2 showing the outputs"),
        DeclareLaunchArgument("fixed_frame", default_value="camera_color_optical_frame",
                              description="rviz's fixed frame (the camera's optical frame, or target_frame)"),
    ]
    args += [DeclareLaunchArgument(name, default_value=default, description=description)
             for name, (default, description) in TOPIC_ARGUMENTS.items()]
    return LaunchDescription(args + [OpaqueFunction(function=_actions)])


def _actions(context):
    """Return the node (and rviz), with the topics of the cameras named at launch time."""
    def value(name):
        return LaunchConfiguration(name).perform(context)

    cameras = parse_cameras(value("cameras"))
    use_depth = value("use_depth").lower() == "true"
    actions = []
    if value("rviz").lower() == "true":
        require_rviz2()  # before the node: a failed launch leaves nothing running
        displays = rviz_displays(value("namespace"), NODE_NAME, cameras, use_depth)
        actions.append(Node(package="rviz2", executable="rviz2", output="screen",
                            arguments=["-d", write_rviz_config(displays, value("fixed_frame"))],
                            additional_env=_dds_env()))
    node = LifecycleNode(
        package="vis_ros",
        executable="vis_ros_node",
        name=NODE_NAME,
        namespace=value("namespace"),
        output="screen",
        parameters=[
            value("params_file"),
            {
                "model": value("model"),
                "autostart": value("autostart").lower() == "true",
                "qos_reliability": value("qos_reliability"),
                "use_sim_time": value("use_sim_time").lower() == "true",
                "use_depth": use_depth,
                "cameras": cameras or [""],
            },
        ],
        remappings=launch_remappings({name: value(name) for name in TOPIC_ARGUMENTS}),
    )
    return [node] + actions


def _dds_env():
    """Return the Fast DDS profile for rviz, unless the user set one."""
    profile = "FASTDDS_DEFAULT_PROFILES_FILE"
    if profile in os.environ:
        return {}
    return {profile: os.path.join(get_package_share_directory("vis_ros"), "config", "fastdds_large_messages.xml")}
