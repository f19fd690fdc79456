"""Wire shapes shared by the SDK, the training backend, the worker and Studio.

This package is a leaf: it imports only pydantic and the standard library. Every
JSON body that crosses a process boundary is defined here exactly once. Field
names are snake_case in Python and camelCase on the wire (the original arkor's
contract), except the OpenAI-compatible inference shapes, which keep OpenAI's
snake_case wire names.
"""

from ._base import LENIENT_READ, WireModel
from .auth import (
    AnonymousTokenRequest,
    AnonymousTokenResponse,
    CliConfig,
    MeResponse,
    Org,
    Project,
    ProjectCreateRequest,
    ProjectListResponse,
    ProjectResponse,
    User,
)
from .base_models import BaseModelInfo, BaseModelList
from .datasets import (
    DATASET_FILE_EXTENSIONS,
    BlobDatasetSource,
    DatasetFormat,
    DatasetIssue,
    DatasetSource,
    DatasetUploadResponse,
    FileDatasetSource,
    HuggingfaceDatasetSource,
    UploadedDatasetSource,
)
from .deployments import (
    AdapterDeploymentTarget,
    BaseModelDeploymentTarget,
    CreatedDeploymentKey,
    Deployment,
    DeploymentCreateRequest,
    DeploymentKey,
    DeploymentKeyCreateRequest,
    DeploymentKeyCreateResponse,
    DeploymentKeyListResponse,
    DeploymentListResponse,
    DeploymentResponse,
    DeploymentRetention,
    DeploymentUpdateRequest,
)
from .durations import parse_duration
from .errors import ErrorBody, UpgradeRequiredBody
from .events import (
    EVENT_STATUS,
    TERMINAL_EVENT_TYPES,
    AnyJobEvent,
    Artifact,
    CheckpointSaved,
    EvaluationCompleted,
    EventType,
    GenericEvent,
    JobEvent,
    JobEventBase,
    TrainingCancelled,
    TrainingCompleted,
    TrainingFailed,
    TrainingLog,
    TrainingResumed,
    TrainingStarted,
    TrainingStartedMetadata,
    event_status,
    event_types,
    is_terminal,
    job_event,
    parse_event,
    register_event_type,
    unregister_event_type,
)
from .inference import (
    AdapterRef,
    ChatCompletion,
    ChatCompletionChunk,
    ChatMessage,
    InferenceChatRequest,
    ResponseFormat,
    StructuredOutputs,
    ToolCall,
    ToolDefinition,
    Usage,
)
from .jobs import (
    DEFAULT_MAX_RESTARTS,
    DEFAULT_SAVE_TOTAL_LIMIT,
    LR_SCHEDULER_TYPES,
    OPTIMIZERS_ANYWHERE,
    OPTIMIZERS_CUDA_ONLY,
    TRACKERS,
    ArtifactListResponse,
    CheckpointInfo,
    CheckpointListResponse,
    JobConfig,
    JobCreateRequest,
    JobListResponse,
    JobResponse,
    JobStatus,
    TrainingHyperparameters,
    TrainingJob,
    unknown_config_keys,
)
from .presets import TaskPreset, TaskPresetList
from .status import TERMINAL_STATUSES
from .worker import (
    DatasetAccess,
    HeartbeatRequest,
    ReportTarget,
    ResumeInfo,
    WorkerEventBatch,
    WorkerExitCode,
    WorkerExitReason,
    WorkerSpec,
)

__all__ = [name for name in dir() if not name.startswith("_")]
