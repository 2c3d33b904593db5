//! Typed keys of the checked values: one enum variant per option, grouped by the type of the
//! value, so reading an option with the wrong type does not compile.
//!
//! Each variant names a slot of [`crate::config`]'s values (the variant's position among its
//! enum's); the table entry of the option carries the same key in its kind. A test checks
//! that every key is used by exactly one table entry.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    MainEnabled,
    MqttEnabled,
    MqttCleanSession,
    ApiEnabled,
    UpstreamEnabled,
    LoraGwmpEnabled,
    LoraRadioEnabled,
    UserEnabled,
    ApiTokenEnabled,
    ApiTokenMetricsOnly,
    BleEnabled,
    LorawanDeviceEnabled,
    LoraFrameDeviceEnabled,
    ModelEnabled,
    SourceEnabled,
    InfluxdbEnabled,
    HassEnabled,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Int {
    StoreMaxRows,
    StoreMaxMb,
    StoreMaxAgeDays,
    StoreCommitIntervalMs,
    StoreFlushIntervalS,
    StoreMaxDevices,
    StoreMaxMetrics,
    StoreMaxFutureSkewS,
    StoreRollupMinuteDays,
    StoreRollupHourDays,
    MqttPort,
    MqttQos,
    MqttKeepaliveS,
    MqttMaxPayloadKb,
    MqttReconnectMaxS,
    ApiMaxConnections,
    ApiRequestTimeoutS,
    ApiMaxBodyKb,
    ApiWorkers,
    ApiTokenTtlS,
    ApiLoginMaxFailures,
    ApiLoginLockoutS,
    UpstreamReconnectMaxS,
    MainOfflineAfterS,
    ApiWsMaxClients,
    ApiWsPingS,
    LoraRadioResetPin,
    LoraRadioBusyPin,
    LoraRadioIrqPin,
    LoraRadioFrequencyHz,
    LoraRadioSf,
    BleRestartMaxS,
    ModelWindow,
    ModelHop,
    InfluxdbBatchSize,
    InfluxdbReconnectMaxS,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Text {
    MainGatewayId,
    StorePath,
    MqttHost,
    MqttUsername,
    MqttPassword,
    MqttTopicPrefix,
    MqttClientId,
    ApiListen,
    UpstreamUrl,
    UpstreamClientId,
    UpstreamCaFile,
    UpstreamCertFile,
    UpstreamKeyFile,
    UpstreamUsername,
    UpstreamPassword,
    UpstreamTopic,
    LoraGwmpListen,
    LoraRadioSpi,
    LoraRadioGpiochip,
    UserPasswordHash,
    ApiTokenTokenHash,
    BleAdapter,
    BleDbusAddress,
    BleFrameCompanyId,
    BleDeviceMac,
    BleDeviceBindkey,
    BleDeviceId,
    LorawanDeviceId,
    LorawanDeviceDevAddr,
    LorawanDeviceNwkskey,
    LorawanDeviceAppskey,
    LoraFrameDeviceId,
    LoraFrameDeviceEui,
    LoraFrameDeviceKey,
    ModelPath,
    ModelDevice,
    ModelOutput,
    ModelThreshold,
    SourceDevicePrefix,
    InfluxdbUrl,
    InfluxdbDatabase,
    InfluxdbRetentionPolicy,
    InfluxdbOrg,
    InfluxdbBucket,
    InfluxdbToken,
    InfluxdbUsername,
    InfluxdbPassword,
    InfluxdbCaFile,
    HassDiscoveryPrefix,
    HassBaseTopic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum List {
    BleAllow,
    BleDeny,
    ModelMetrics,
    SourceTopic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChoiceSlot {
    MainLogLevel,
    LoraRadioChip,
    LoraRadioTcxoMv,
    LoraRadioBwKhz,
    LoraRadioCr,
    LoraRadioSyncWord,
    LorawanDevicePayload,
    SourceFormat,
    InfluxdbApi,
}

/// Any of the keys above, for what every value has whatever its type: the line that set it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Flag(Flag),
    Int(Int),
    Choice(ChoiceSlot),
    Text(Text),
    List(List),
}

impl From<Flag> for Key {
    fn from(key: Flag) -> Key {
        Key::Flag(key)
    }
}

impl From<Text> for Key {
    fn from(key: Text) -> Key {
        Key::Text(key)
    }
}
