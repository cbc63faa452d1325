// What Podium asks of Twilio Video so that, as on the local backend, every attendee
// gets the best picture their link carries: the publisher sends VP8 simulcast, and
// Twilio's Network Bandwidth Profile picks each viewer's layers in "presentation"
// mode, where the screen (published with priority 'high') keeps its quality first and
// the camera gives way. Protocol only: no DOM.

/**
 * twilioConnectOptions returns the twilio-video ConnectOptions Podium always passes.
 * @returns {Record<string, any>}
 */
export function twilioConnectOptions() {
  return {
    preferredVideoCodecs: [{ codec: 'VP8', simulcast: true }],
    bandwidthProfile: {
      video: {
        mode: 'presentation',
        // Switch off a track the viewer's bandwidth cannot carry before it freezes.
        trackSwitchOffMode: 'predicted',
        // Twilio picks layers from each viewer's estimate and the rendered size.
        contentPreferencesMode: 'auto',
        clientTrackSwitchOffControl: 'auto',
      },
    },
    // The attendee's connection indicator (the local participant's level only).
    networkQuality: { local: 1, remote: 0 },
  };
}
