"""Start the vis_ros lifecycle node on a camera, or on several with one engine.

    ros2 launch vis_ros vis_ros.launch.py use_depth:=true
    ros2 launch vis_ros vis_ros.launch.py camera:=/robot/front/color namespace:=robot1
    ros2 launch vis_ros vis_ros.launch.py cameras:=[front,left] use_depth:=true rviz:=true

Arguments: model, namespace, params_file, use_sim_time, autostart
(configure + activate without a lifecycle manager; false under Nav2's
lifecycle_manager), qos_reliability, use_depth, rviz, fixed_frame. Of the
node's parameters, only the arguments given reach it after params_file, so a
value in the params file holds unless an argument overrides it
(vis_ros/processes/launch_parameters.py); autostart is true unless the
argument or the params file says otherwise. Where the
inputs come from: camera, image_topic, depth_topic, camera_info_topic (one
camera) or cameras with image_template / depth_template / info_template
(several), realsense2_camera's layout by default
(vis_ros/processes/camera_topics.py).

rviz gets a configuration written for this launch: per camera the overlay,
and with depth the markers and segmented points (vis_ros/processes/rviz_config.py).
With rviz:=true and no rviz2, the launch fails before starting the node.

The node applies config/fastdds_large_messages.xml to itself, and rviz gets
it here, under both names Fast DDS reads (FASTDDS_DEFAULT_PROFILES_FILE for
Fast DDS 3 on Kilted, FASTRTPS_DEFAULT_PROFILES_FILE for Fast DDS 2 on Jazzy)
unless either is already set: camera-sized messages then go over shared
memory (~2 ms) instead of fragmented UDP (~12 ms, and lost with best-effort
QoS). Start the camera driver with the same variables for the images it
publishes.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node

from launch import LaunchDescription
from vis_ros.processes.camera_topics import TOPIC_ARGUMENTS, launch_remappings
from vis_ros.processes.fastdds_profile import profile_additions
from vis_ros.processes.launch_parameters import (
    OVERRIDES,
    effective_value,
    given_arguments,
    node_name,
    node_parameters,
    params_file_values,
)
from vis_ros.processes.rviz_config import require_rviz2, rviz_displays, write_rviz_config

NODE_NAME = "vis_ros"


def generate_launch_description():
    """Return the launch description: the lifecycle node on its cameras, rviz optional."""
    share = get_package_share_directory("vis_ros")
    unset = " (default: the params file's value, else the node's default)"
    args = [
        DeclareLaunchArgument("model", default_value="", description="ONNX/engine" + unset),
        DeclareLaunchArgument("namespace", default_value="", description="namespace of the node"),
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "vis_ros.yaml"),
                              description="parameter YAML; launch arguments given here override its values"),
        DeclareLaunchArgument("use_sim_time", default_value="", description="use /clock" + unset),
        DeclareLaunchArgument("autostart", default_value="",
                              description="configure and activate without a lifecycle manager (default: the"
                                          " params file's value, else true; false under Nav2's lifecycle_manager)"),
        DeclareLaunchArgument("qos_reliability", default_value="",
                              description="best_effort or reliable, to match the camera driver" + unset),
        DeclareLaunchArgument("use_depth", default_value="", description="depth + camera_info, 3D outputs" + unset),
        DeclareLaunchArgument("rviz", default_value="false", description="also start rviz2 showing the outputs"),
        DeclareLaunchArgument("fixed_frame", default_value="camera_color_optical_frame",
                              description="rviz's fixed frame (the camera's optical frame, or target_frame)"),
    ]
    args += [DeclareLaunchArgument(name, default_value=default, description=description)
             for name, (default, description) in TOPIC_ARGUMENTS.items()]
    return LaunchDescription(args + [OpaqueFunction(function=_actions)])


def _actions(context):
    """Return the node (and rviz), with the topics of the cameras the node will run with."""
    def value(name):
        return LaunchConfiguration(name).perform(context)

    namespace, params_file = value("namespace"), value("params_file")
    fqn = node_name(namespace, NODE_NAME)
    given = given_arguments({name: value(name) for name in OVERRIDES})
    from_file = params_file_values(params_file, fqn) if params_file else {}
    cameras = [c for c in effective_value("cameras", given, from_file) if c]
    use_depth = effective_value("use_depth", given, from_file)
    actions = []
    if value("rviz").lower() == "true":
        require_rviz2()  # before the node: a failed launch leaves nothing running
        displays = rviz_displays(namespace, NODE_NAME, cameras, use_depth)
        actions.append(Node(package="rviz2", executable="rviz2", output="screen",
                            arguments=["-d", write_rviz_config(displays, value("fixed_frame"))],
                            additional_env=_dds_env()))
    node = LifecycleNode(
        package="vis_ros",
        executable="vis_ros_node",
        name=NODE_NAME,
        namespace=namespace,
        output="screen",
        parameters=node_parameters(params_file, given, fqn),
        remappings=launch_remappings({name: value(name) for name in TOPIC_ARGUMENTS}, cameras),
    )
    return [node] + actions


def _dds_env():
    """Return the Fast DDS profile for rviz under both names (Fast DDS 2 and 3), unless the user set one."""
    return profile_additions(os.environ)
