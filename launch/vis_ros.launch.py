"""Start the vis_ros lifecycle node on a camera.

    ros2 launch vis_ros vis_ros.launch.py camera:=/camera/color model:=/path/yolo11n-seg.onnx

Arguments: model, camera (namespace holding image_raw), image_topic,
namespace, params_file, use_sim_time, autostart (configure + activate
without a lifecycle manager; set false under Nav2's lifecycle_manager),
qos_reliability, rviz.

The node applies config/fastdds_large_messages.xml to itself, and rviz gets
it here, unless FASTDDS_DEFAULT_PROFILES_FILE is already set: camera-sized
messages then go over shared memory (~2 ms) instead of fragmented UDP
(~12 ms, and lost with best-effort QoS). Start the camera driver with the
same variable for the images it publishes.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node

from launch import LaunchDescription


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
    ]
    camera = LaunchConfiguration("camera")
    profile = "FASTDDS_DEFAULT_PROFILES_FILE"
    dds_env = {} if profile in os.environ else {
        profile: os.path.join(share, "config", "fastdds_large_messages.xml")}
    node = LifecycleNode(
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
            },
        ],
        remappings=[("image", PathJoinSubstitution([camera, LaunchConfiguration("image_topic")]))],
    )
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        arguments=["-d", os.path.join(share, "config", "vis_ros.rviz")],
        condition=IfCondition(LaunchConfiguration("rviz")),
        additional_env=dds_env,
    )
    return LaunchDescription(args + [node, rviz])
