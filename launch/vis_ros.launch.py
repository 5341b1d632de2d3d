"""Start the vis_ros lifecycle node on a camera, or on several with one engine.

    ros2 launch vis_ros vis_ros.launch.py camera:=/camera/color model:=/path/yolo11n-seg.onnx
    ros2 launch vis_ros vis_ros.launch.py cameras:=[front,left] use_depth:=true

Arguments: model, camera (namespace holding image_raw), image_topic,
cameras (names; each camera's inputs come from the image_template /
depth_template / info_template topics with {name} replaced, realsense2_camera's
layout by default: vis_ros/processes/camera_topics.py), use_depth, namespace,
params_file, use_sim_time, autostart (configure + activate without a
lifecycle manager; set false under Nav2's lifecycle_manager),
qos_reliability, rviz.

The node applies config/fastdds_large_messages.xml to itself, and rviz gets
it here, unless FASTDDS_DEFAULT_PROFILES_FILE is already set: camera-sized
messages then go over shared memory (~2 ms) instead of fragmented UDP
(~12 ms, and lost with best-effort QoS). Start the camera driver with the
same variable for the images it publishes.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node

from launch import LaunchDescription
from vis_ros.processes.camera_topics import (
    DEPTH_TEMPLATE,
    IMAGE_TEMPLATE,
    INFO_TEMPLATE,
    camera_remappings,
    parse_cameras,
)


def generate_launch_description():
    """Return the launch description: the lifecycle node on one camera, rviz optional."""
    share = get_package_share_directory("vis_ros")
    args = [
        DeclareLaunchArgument("model", default_value="", description="ONNX/engine; empty: embedded model"),
        DeclareLaunchArgument("camera", default_value="/camera/color", description="camera namespace"),
        DeclareLaunchArgument("image_topic", default_value="image_raw", description="image topic in camera"),
        DeclareLaunchArgument("namespace", default_value="", description="namespace of the node"),
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "vis_ros.yaml"),
                              description="parameter YAML"),
        DeclareLaunchArgument("use_sim_time", default_value="false", description="use /clock"),
        DeclareLaunchArgument("autostart", default_value="true",
                              description="configure and activate without a lifecycle manager"),
        DeclareLaunchArgument("qos_reliability", default_value="best_effort",
                              description="best_effort or reliable, to match the camera driver"),
        DeclareLaunchArgument("rviz", default_value="false", description="also start rviz2"),
        DeclareLaunchArgument("cameras", default_value="",
                              description="camera names, e.g. [front,left]: one node, one engine for all"),
        DeclareLaunchArgument("image_template", default_value=IMAGE_TEMPLATE, description="each camera's image"),
        DeclareLaunchArgument("depth_template", default_value=DEPTH_TEMPLATE, description="each camera's depth"),
        DeclareLaunchArgument("info_template", default_value=INFO_TEMPLATE,
                              description="each camera's camera_info"),
        DeclareLaunchArgument("use_depth", default_value="false", description="depth + camera_info, 3D outputs"),
    ]
    profile = "FASTDDS_DEFAULT_PROFILES_FILE"
    dds_env = {} if profile in os.environ else {
        profile: os.path.join(share, "config", "fastdds_large_messages.xml")}
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        arguments=["-d", os.path.join(share, "config", "vis_ros.rviz")],
        condition=IfCondition(LaunchConfiguration("rviz")),
        additional_env=dds_env,
    )
    return LaunchDescription(args + [OpaqueFunction(function=_node), rviz])


def _node(context):
    """Return the node, with the remappings of the cameras named at launch time."""
    cameras = parse_cameras(LaunchConfiguration("cameras").perform(context))
    if cameras:
        remappings = camera_remappings(cameras, LaunchConfiguration("image_template").perform(context),
                                       LaunchConfiguration("depth_template").perform(context),
                                       LaunchConfiguration("info_template").perform(context))
    else:
        image = PathJoinSubstitution([LaunchConfiguration("camera"), LaunchConfiguration("image_topic")])
        remappings = [("image", image)]
    return [LifecycleNode(
        package="vis_ros",
        executable="vis_ros_node",
        name="vis_ros",
        namespace=LaunchConfiguration("namespace"),
        output="screen",
        parameters=[
            LaunchConfiguration("params_file"),
            {
                "model": LaunchConfiguration("model"),
                "autostart": LaunchConfiguration("autostart"),
                "qos_reliability": LaunchConfiguration("qos_reliability"),
                "use_sim_time": LaunchConfiguration("use_sim_time"),
                "use_depth": LaunchConfiguration("use_depth"),
                "cameras": cameras or [""],
            },
        ],
        remappings=remappings,
    )]
